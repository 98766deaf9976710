"""pytest fixtures for book authors (registered through the ``pytest11`` entry point).

``kbooks_home``: a fresh kbooks home directory, set as ``KBOOKS_HOME`` for the test, so
no test can read or write real credentials; after the test, the run journal the test's
runtimes shared there is closed (its waiting writes committed). ``kbooks_runtime``: a
:class:`Runtime` on it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def kbooks_home(tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("kbooks-home")
    monkeypatch.setenv("KBOOKS_HOME", str(home))
    for name in ("KBOOKS_DISABLE", "KBOOKS_TRACE"):
        monkeypatch.delenv(name, raising=False)
    yield home
    journal = sys.modules.get("kognitos_books.journal")
    if journal is not None:  # the runtimes of the test used it: commit and let go
        journal.Journal.release(home)


@pytest.fixture
def kbooks_runtime(kbooks_home: Path):  # type: ignore[no-untyped-def]
    from kognitos_books import Runtime

    return Runtime(home=kbooks_home)
