"""The receiving role: an HTTP endpoint that verifies each delivery and records it durably.

An ASGI application served by uvicorn (see the README's dependency table). For each POST to
a book's path it has the book verify the delivery's signature against the endpoint's secret
(unsigned, forged or stale: ``400``, nothing recorded, nothing run), records the event and
the work it makes in the hand-off, and only then answers ``200``; the handlers run after,
in the workers. A delivery of an event already recorded is answered ``200`` again and
makes no new work. Anything else that goes wrong answers ``500``, so the service delivers
again later. Verification and recording run in a thread pool: the inbox commits the events
of concurrent deliveries together.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..model import Connection, DeliveryRejected, Secret
from .inbox import Handoff, Offer

logger = logging.getLogger("kognitos_books.triggers")

#: the largest delivery accepted (Stripe's events are far smaller)
MAX_BODY = 1024 * 1024


@attrs.frozen
class Route:
    """One book's endpoint: its connection, the secret deliveries are signed with, and the
    handlers to run for each event type."""

    book: str
    connection: Connection = attrs.field(repr=False)
    secret: Secret = attrs.field(repr=False)
    handlers: Mapping[str, tuple[str, ...]]


class Receiver:
    """The ASGI application: ``routes`` by path (``/stripe_pay``)."""

    def __init__(self, routes: Mapping[str, Route], handoff: Handoff,
                 verify: Callable[[Connection, Mapping[str, str], bytes, Secret], Any], *,
                 threads: int = 16,
                 on_recorded: Callable[[str, bool], None] | None = None) -> None:
        self.routes = dict(routes)
        self.handoff = handoff
        self.verify = verify
        self.on_recorded = on_recorded
        self.pool = concurrent.futures.ThreadPoolExecutor(threads,
                                                          thread_name_prefix="kbooks-receive")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"].rstrip("/") or "/"
        if scope["method"] == "GET" and path == "/health":
            await _answer(send, 200, {"ok": True, "books": sorted(
                route.book for route in self.routes.values())})
            return
        route = self.routes.get(path)
        if route is None:
            await _answer(send, 404, {"error": f"nothing listens at {path}"})
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "deliveries are POSTed"})
            return
        body = await _body(receive)
        if body is None:
            await _answer(send, 413, {"error": "the delivery is too large"})
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in scope["headers"]}
        loop = asyncio.get_running_loop()
        status, answer = await loop.run_in_executor(self.pool, self.accept, route, headers,
                                                    body)
        await _answer(send, status, answer)

    def accept(self, route: Route, headers: Mapping[str, str], body: bytes
               ) -> tuple[int, dict[str, Any]]:
        """Verify and record one delivery: the status and body to answer with."""
        try:
            event = self.verify(route.connection, headers, body, route.secret)
        except DeliveryRejected as exc:
            logger.warning("refused a delivery to /%s: %s", route.book, exc.message)
            return 400, {"error": exc.message}
        handlers = route.handlers.get(event.type, ())
        try:
            new = self.handoff.record([Offer.of(route.book, route.connection.name, event,
                                                handlers)])[0]
        except Exception:
            logger.exception("could not record the event %s", event.id)
            return 500, {"error": "the event could not be recorded; deliver it again"}
        if self.on_recorded is not None:
            self.on_recorded(event.id, new)
        return 200, {"received": True, "new": new, "handlers": len(handlers)}

    def close(self) -> None:
        self.pool.shutdown(wait=True)


async def _body(receive: Any) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, body: Mapping[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class Serving:
    """A uvicorn server for one app on a socket already bound: :meth:`run` serves until
    Ctrl-C or :meth:`stop`."""

    def __init__(self, app: Receiver, host: str, port: int,
                 ready: Callable[[int], None] | None) -> None:
        import socket

        import uvicorn

        # (IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on each connection: without
        # it an answer's body waits for the client's delayed ACK, 40 ms a request)
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(1024)
        self.port: int = self.socket.getsockname()[1]
        self.ready = ready
        self.server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            timeout_keep_alive=30, server_header=False))

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    def run(self) -> None:
        if self.ready is not None:
            self.ready(self.port)
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def stop(self) -> None:
        self.server.should_exit = True


def serve(app: Receiver, host: str, port: int, *, ready: Callable[[int], None] | None = None
          ) -> Serving:
    """A server for ``app`` on ``host``:``port`` (0: a free port), bound, not started."""
    return Serving(app, host, port, ready)
