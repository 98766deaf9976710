"""Shared pieces of the host tests: installing a test book as a real distribution."""

from __future__ import annotations

import shutil
from pathlib import Path

BOOKS = Path(__file__).parent / "books"
MEMO_TOKEN = "memo_test_abcdefgh5678"


def make_dist(site: Path, dist: str, module: str, entry_name: str, version: str = "0.1") -> None:
    shutil.copy(BOOKS / f"{module}.py", site / f"{module}.py")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[kognitos_books]\n{entry_name} = {module}\n")
    (info / "RECORD").write_text("")
