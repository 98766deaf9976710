"""The receiver on a real uvicorn server: signed deliveries recorded once, others refused."""

from __future__ import annotations

import http.client
import importlib
import json
import threading
import time

import pytest

from kognitos_books import Runtime, Secret
from kognitos_books.triggers.inbox import Inbox
from kognitos_books.triggers.receiver import Receiver, Route, serve

MEMO_TOKEN = "memo_test_abcdefgh5678"
SECRET = "memosec_receiver01"


@pytest.fixture
def served(memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", credentials={"token": MEMO_TOKEN})
    inbox = Inbox(kbooks_home)
    route = Route("memo", rt.connect("memo"), Secret(SECRET),
                  {"note.created": ("h_created",)})
    app = Receiver({"/memo": route}, inbox, rt.plugins.verify_event)
    ready = threading.Event()
    server = serve(app, "127.0.0.1", 0, ready=lambda port: ready.set())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert ready.wait(10)
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield server.port, inbox, importlib.import_module("memo_book").sign
    server.stop()
    thread.join(10)
    app.close()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=body, headers=headers)
    answer = conn.getresponse()
    found = json.loads(answer.read() or b"{}")
    conn.close()
    return answer.status, found


def delivery(event_id: str, kind: str = "note.created") -> bytes:
    return json.dumps({"id": event_id, "type": kind, "created": int(time.time()),
                       "object": {"id": "note_1", "title": "t"}}).encode()


def test_a_signed_delivery_is_recorded_once_with_its_work(served):
    port, inbox, sign = served
    body = delivery("mev_1")
    headers = {"Memo-Signature": sign(body, SECRET)}
    assert post(port, "/memo", body, headers) == (200, {"received": True, "new": True,
                                                        "handlers": 1})
    status, again = post(port, "/memo", body, {"Memo-Signature": sign(body, SECRET)})
    assert status == 200 and again["new"] is False
    assert inbox.counts() == {"pending": 1}
    assert inbox.event("memo", "default", "mev_1").type == "note.created"


def test_an_event_nobody_handles_is_recorded_without_work(served):
    port, inbox, sign = served
    body = delivery("mev_2", "note.pinned")
    status, answer = post(port, "/memo", body, {"Memo-Signature": sign(body, SECRET)})
    assert status == 200 and answer["handlers"] == 0
    assert inbox.counts() == {}


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "other secret"])
def test_unsigned_forged_or_stale_deliveries_get_400_and_record_nothing(served, case):
    port, inbox, sign = served
    body = delivery("mev_3")
    headers = {
        "unsigned": {},
        "forged": {"Memo-Signature": sign(delivery("mev_other"), SECRET)},
        "stale": {"Memo-Signature": sign(body, SECRET, int(time.time()) - 3600)},
        "other secret": {"Memo-Signature": sign(body, "memosec_wrong")},
    }[case]
    status, answer = post(port, "/memo", body, headers)
    assert status == 400 and SECRET not in json.dumps(answer)
    assert inbox.event("memo", "default", "mev_3") is None and inbox.counts() == {}


def test_unknown_paths_and_methods_are_refused(served):
    port, _, _ = served
    assert post(port, "/nobody", b"{}", {})[0] == 404
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/memo")
    assert conn.getresponse().status == 405
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/health")
    answer = conn.getresponse()
    assert answer.status == 200 and json.loads(answer.read())["books"] == ["memo"]
    conn.close()


def test_the_server_socket_lets_asyncio_turn_off_nagle():
    """asyncio sets TCP_NODELAY only on sockets made for TCP by name; without it each
    answer's body waited for the client's delayed ACK (40 ms a delivery)."""
    import socket

    from kognitos_books.triggers.receiver import Serving

    serving = Serving(Receiver({}, None, None), "127.0.0.1", 0, None)  # type: ignore[arg-type]
    try:
        assert serving.socket.proto == socket.IPPROTO_TCP
    finally:
        serving.socket.close()
