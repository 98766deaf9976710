"""What keeps ``kbooks`` quick to start: books are found from the distributions' own files,
exactly as importlib.metadata finds them, without importing it (bench/cli_start.py times it)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from kognitos_books import entrypoints


def shown(eps) -> list[tuple[str, str, str | None, str | None]]:
    return sorted((ep.name, ep.value, ep.dist.metadata["Name"], ep.dist.version) for ep in eps)


@pytest.mark.parametrize("group", ["kognitos_books", "console_scripts", "pytest11", "nothing"])
def test_the_same_entry_points_as_importlib_metadata(group):
    found = entrypoints._scan(group)
    assert found is not None  # plain directories only: no need for importlib.metadata
    assert shown(found) == shown(metadata.entry_points(group=group))


def dist(site: Path, name: str, version: str, value: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   "Summary: a: colon\n\nName: not a header\n")
    (info / "entry_points.txt").write_text(f"# comment\n[other]\nx = y\n\n[kbooks_test]\n"
                                           f"  book = {value}  \n")


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path, monkeypatch):
    dist(tmp_path / "first", "Kbooks-Shadow", "2.0", "shadow_new:book")
    dist(tmp_path / "second", "kbooks_shadow", "1.0", "shadow_old")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "first"), str(tmp_path / "missing"),
                                      str(tmp_path / "second"), *sys.path])
    found = entrypoints._scan("kbooks_test")
    assert shown(found) == shown(metadata.entry_points(group="kbooks_test"))
    assert shown(found) == [("book", "shadow_new:book", "Kbooks-Shadow", "2.0")]


def test_loading_imports_the_module_and_walks_its_attributes(tmp_path, monkeypatch):
    (tmp_path / "quickbook.py").write_text("class Holder:\n    value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = entrypoints.EntryPoint("q", "quickbook:Holder.value [extra]", "g",
                                entrypoints.Distribution(str(tmp_path)))
    assert ep.load() == 42
    assert entrypoints.EntryPoint("q", "quickbook", "g", ep.dist).load().__name__ == "quickbook"


def test_a_zip_on_the_path_hands_over_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "books.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\n")
        zf.writestr("zipped-1.0.dist-info/entry_points.txt", "[kbooks_test]\nz = zipped\n")
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert entrypoints._scan("kbooks_test") is None
    assert [ep.name for ep in entrypoints.entry_points("kbooks_test")] == ["z"]


def test_kbooks_help_and_books_do_not_import_importlib_metadata(kbooks_home):
    probe = ("import sys, io, contextlib\n"
             "from kognitos_books.cli import main\n"
             "for argv in (['--help'], ['books']):\n"
             "    with contextlib.redirect_stdout(io.StringIO()):\n"
             "        try:\n"
             "            main(argv)\n"
             "        except SystemExit:\n"  # --help exits
             "            pass\n"
             "print(sorted(m for m in ('importlib.metadata', 'stripe', 'logging')"
             " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
