"""vcrpy configuration that records no secret.

Cassettes are matched on method, path, query and body, not on host or port, so a cassette
recorded against a local server on a random port replays anywhere, with no server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: What an API key looks like (Stripe's secret and restricted keys, and any book's
#: ``<kind>_<test|live>_...`` tokens).
SECRET_PATTERN = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]{6,}")
REDACTED = "REDACTED"
#: Headers that identify or authenticate the caller; removed from recorded requests.
SCRUBBED_HEADERS = ("authorization", "stripe-account", "user-agent",
                    "x-stripe-client-user-agent", "cookie", "set-cookie")


def scrub_text(text: str) -> str:
    """Replace every key-shaped string in ``text``."""
    return SECRET_PATTERN.sub(REDACTED, text)


def find_secrets(text: str) -> list[str]:
    """Every key-shaped string in ``text`` (for tests that scan files)."""
    return SECRET_PATTERN.findall(text)


def _scrub_body(body: Any) -> Any:
    if body is None:
        return None
    if isinstance(body, bytes):
        try:
            return scrub_text(body.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return body
    if isinstance(body, str):
        return scrub_text(body)
    return body


def _before_record_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() in SCRUBBED_HEADERS:
            del request.headers[name]
    request.body = _scrub_body(request.body)
    request.uri = scrub_text(request.uri)
    return request


def _before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SCRUBBED_HEADERS:
            del headers[name]
    body = response.get("body", {})
    if isinstance(body, dict) and "string" in body:
        body["string"] = _scrub_body(body["string"])
    return response


def scrubbing_vcr(cassette_dir: str | Path, record_mode: str = "none") -> Any:
    """A ``vcr.VCR`` that scrubs secrets and matches requests regardless of host and port.

    ``record_mode="none"`` (the default) replays only and fails on any request that is
    not in the cassette, so CI never reaches a network.
    """
    import vcr

    return vcr.VCR(
        cassette_library_dir=str(cassette_dir),
        record_mode=record_mode,
        match_on=("method", "path", "query", "body"),
        before_record_request=_before_record_request,
        before_record_response=_before_record_response,
        decode_compressed_response=True,
        serializer="yaml",
    )
