"""Install test books as real distributions: a module plus a ``.dist-info`` with an
``entry_points.txt``, on a directory that is put on ``sys.path`` (and ``PYTHONPATH`` for
subprocesses). The host finds them exactly as it finds pip-installed books."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from host_support import make_dist


@pytest.fixture
def book_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(site), os.environ.get("PYTHONPATH")])))

    def install(dist: str, module: str, entry_name: str) -> Path:
        make_dist(site, dist, module, entry_name)
        sys.modules.pop(module, None)
        importlib.invalidate_caches()
        return site

    return install


@pytest.fixture
def memo(book_site):
    return book_site("kbooks-memo", "memo_book", "memo")


@pytest.fixture
def kbooks(kbooks_home):
    """Run the installed ``kbooks`` console script in a subprocess."""
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe, "the kbooks console script is not installed next to this Python"

    def run(*args: str, input: str | None = None, env: dict | None = None):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([exe, *args], input=input, capture_output=True, text=True,
                              env=full_env, timeout=60)

    return run
