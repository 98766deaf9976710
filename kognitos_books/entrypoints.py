"""Entry points of installed distributions, read without importing ``importlib.metadata``.

Every ``kbooks`` command looks up the books first, and importing ``importlib.metadata`` (it
brings the ``email`` package, ``zipfile``, ``csv`` and ``pathlib``) costs more than all the
rest of ``kbooks --help``. Installed distributions keep their entry points in plain files,
``<name>-<version>.dist-info/entry_points.txt`` (``.egg-info`` for older installers) in a
directory on ``sys.path``, so :func:`entry_points` reads those, exactly as
``importlib.metadata.entry_points(group=...)`` would: directories in ``sys.path`` order, each
listed as the operating system lists it, the first distribution of a (normalized) name
winning. Where something on the path is not a plain directory (a zip file, an egg, an
import hook that serves distributions itself), it hands over to ``importlib.metadata``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from importlib import import_module
from importlib.machinery import PathFinder
from typing import Any

#: ``module.path:attr.path [extras]``, as importlib.metadata reads an entry point's value
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_INFO_SUFFIXES = (".dist-info", ".egg-info")


class Distribution:
    """The little of a distribution the host shows: its name and version, read when first
    asked from its ``METADATA`` (or ``PKG-INFO``) headers."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._headers: dict[str, str] | None = None

    @property
    def metadata(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = _headers(self.path)
        return self._headers

    @property
    def version(self) -> str | None:
        return self.metadata.get("Version")


class EntryPoint:
    """One entry point: ``name = value`` in ``group`` of ``dist``; :meth:`load` imports it."""

    def __init__(self, name: str, value: str, group: str, dist: Distribution) -> None:
        self.name = name
        self.value = value
        self.group = group
        self.dist = dist

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"

    def load(self) -> Any:
        """The object the entry point names (its module imported)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"malformed entry point value {self.value!r}")
        found: Any = import_module(match.group("module"))
        for part in filter(None, (match.group("attr") or "").split(".")):
            found = getattr(found, part)
        return found


#: the entry-point group books register under
GROUP = "kognitos_books"


def entry_points(group: str) -> list[Any]:
    """The entry points of ``group`` across installed distributions."""
    found = _scan(group)
    if found is None:
        from importlib import metadata

        return list(metadata.entry_points(group=group))
    return found


def _scan(group: str) -> list[Any] | None:
    """What :func:`entry_points` returns, or None when the path needs importlib.metadata."""
    found = distributions()
    return None if found is None else entry_points_of(found, group)


def entry_points_of(distributions: list[str], group: str) -> list[EntryPoint]:
    """The entry points of ``group`` in the metadata directories ``distributions``."""
    return [point for path in distributions for point in _entry_points(path, group)]


def distributions() -> list[str] | None:
    """The metadata directories (``.dist-info``, ``.egg-info``) of installed distributions,
    in ``sys.path`` order, the first of each name; None when the path needs
    importlib.metadata."""
    for finder in sys.meta_path:
        if finder is not PathFinder and hasattr(finder, "find_distributions"):
            return None  # an import hook that serves distributions of its own
    found: list[str] = []
    seen: set[str] = set()
    for root in sys.path:
        directory = root or "."
        try:
            children = os.listdir(directory)
        except OSError:
            if os.path.exists(directory):
                return None  # a zip file, say
            continue  # not there: nothing to find
        if os.path.basename(directory).lower().endswith(".egg"):
            return None
        for child in children:
            low = child.lower()
            if not low.endswith(_INFO_SUFFIXES):
                continue
            name = _normalize(child.rpartition(".")[0].partition("-")[0])
            if name in seen:
                continue  # an earlier directory (or entry) has this distribution
            seen.add(name)
            found.append(os.path.join(directory, child))
    return found


def _normalize(name: str) -> str:
    """A distribution name as importlib.metadata compares them (PEP 503, ``_`` for ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _entry_points(path: str, group: str) -> Iterator[EntryPoint]:
    try:
        with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return
    dist = Distribution(path)
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section == group and "=" in line:
            name, _, value = line.partition("=")
            yield EntryPoint(name.strip(), value.strip(), group, dist)


def _headers(path: str) -> dict[str, str]:
    """``Name``, ``Version`` and the other one-line headers of a distribution's metadata."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(path, filename), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        headers: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                break  # the body (the long description) starts here
            if line[:1].isspace() or ":" not in line:
                continue  # a folded continuation line
            key, _, value = line.partition(":")
            headers.setdefault(key.strip(), value.strip())
        return headers
    return {}
