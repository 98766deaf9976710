"""CLI start: wall time of whole processes, from exec to exit, repeated, median.

* ``kbooks --version`` against ``python -c pass`` (the interpreter alone): under 3 times;
* ``kbooks --help``, ``kbooks books`` (every book found and described) and ``kbooks
  procedures stripe_pay`` (every procedure and its inputs) against
  ``python -c "import stripe"``: under half, since neither imports the SDK. What they show
  is kept between runs (``kognitos_books/catalog.py``) and used while nothing it was made
  from has changed; ``kbooks books, nothing kept`` is the first run after a change, every
  book loaded (no target: shown so the saving is seen);
* ``kbooks run FILE`` of one get against a plain SDK script sending the same request to the
  same sandbox: at most 15 ms more once the text has been run before (what it read and
  checked is kept between runs, see ``kognitos_books/cli.py``), and, with no target, the
  same for a text never run before (the book's inputs kept) and for the first run after a
  change (nothing kept); beside them, what importing the host's libraries alone (attrs,
  pluggy, sqlite3, argparse) adds to the same script, the least any run can add.

The commands take turns, one run each per round, so a busy moment of the machine hits
them all; each runs with a private, empty kbooks home. This checkout's packages are compiled
to bytecode first, as pip does when it installs a package (an editable install leaves that
to the first import, which ``PYTHONDONTWRITEBYTECODE`` forbids where it is set).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import KEY, ROOT, Figure, Sandbox, median

#: a plain SDK script making the request a one-line kbooks run makes
SDK_GET = """
import os, stripe
client = stripe.StripeClient(os.environ["KBOOKS_STRIPE_PAY_API_KEY"],
                             base_addresses={"api": os.environ["KBOOKS_STRIPE_PAY_API_BASE"]})
client.v1.customers.list({"email": "a@b.co", "limit": 1})
"""
GET = 'get all customers from stripe whose email is "a@b.co"\n'
#: The same script with the libraries the host is made of imported first: attrs (its data),
#: pluggy (its books), sqlite3 (its journal), argparse (its command line). What this adds to
#: the plain script is the least any ``kbooks run`` built on them can add.
FLOOR_GET = "import attrs, pluggy, sqlite3, argparse\n" + SDK_GET
#: the most a one-line kbooks run of a get may add to the same request by the SDK
RUN_TARGET_MS = 15

#: ``kbooks books`` with nothing kept from an earlier run (the first after an install or an
#: upgrade): every book loaded and described
COLD = "kbooks books, nothing kept"

TARGETS = {"kbooks --version": ("python -c pass", 3.0),
           "kbooks --help": ('python -c "import stripe"', 0.5),
           "kbooks books": ('python -c "import stripe"', 0.5),
           "kbooks procedures stripe_pay": ('python -c "import stripe"', 0.5)}


def commands() -> dict[str, list[str]]:
    python = sys.executable
    kbooks = shutil.which("kbooks", path=os.path.dirname(python))
    if kbooks is None:
        raise RuntimeError("the kbooks console script is not installed next to this Python")
    return {"python -c pass": [python, "-c", "pass"],
            'python -c "import stripe"': [python, "-c", "import stripe"],
            "kbooks --version": [kbooks, "--version"],
            "kbooks --help": [kbooks, "--help"],
            "kbooks books": [kbooks, "books"],
            "kbooks procedures stripe_pay": [kbooks, "procedures", "stripe_pay"],
            COLD: [kbooks, "books"]}


def compile_project() -> None:
    """Bytecode for the host and the book, as an installed package has."""
    import compileall

    for package in (ROOT / "kognitos_books", ROOT / "books" / "stripe_pay"):
        compileall.compile_dir(str(package), quiet=1)


def measure(rounds: int) -> dict[str, list[float]]:
    """Seconds of each run of each command."""
    compile_project()
    found: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kbooks-bench-") as home:
        env = {**os.environ, "KBOOKS_HOME": home}
        for name in ("KBOOKS_DISABLE", "KBOOKS_TRACE"):
            env.pop(name, None)
        every = commands()
        for command in every.values():  # warm the file cache
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        for _ in range(rounds):
            for name, command in every.items():
                if name == COLD:  # (only what kbooks books keeps)
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(os.path.join(home, "cache", "books.json"))
                started = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
                found.setdefault(name, []).append(time.perf_counter() - started)
    return found


def run_overhead(rounds: int) -> list[Figure]:
    """``kbooks run`` of one get, against a plain SDK script sending the same request, in
    turns: the text checked before (what ``kbooks run`` kept of it answers), a text never
    checked (its book's inputs kept: the parser and checker run, the SDK's types are not
    read), and nothing kept at all (the first run after an install or an upgrade)."""
    compile_project()
    python = sys.executable
    kbooks = shutil.which("kbooks", path=os.path.dirname(python))
    assert kbooks is not None
    with tempfile.TemporaryDirectory(prefix="kbooks-bench-") as home, \
            Sandbox() as sandbox:
        kog = os.path.join(home, "get.kog")
        with open(kog, "w", encoding="utf-8") as fh:
            fh.write(GET)
        env = {**os.environ, "KBOOKS_HOME": home, "KBOOKS_STRIPE_PAY_API_KEY": KEY,
               "KBOOKS_STRIPE_PAY_API_BASE": sandbox.url}
        for name in ("KBOOKS_DISABLE", "KBOOKS_TRACE"):
            env.pop(name, None)
        fresh = os.path.join(home, "fresh.kog")
        commands = {"sdk": [python, "-c", SDK_GET], "floor": [python, "-c", FLOOR_GET],
                    "kept": [kbooks, "run", kog],
                    "new text": [kbooks, "run", fresh], "nothing kept": [kbooks, "run", kog]}
        for command in commands.values():
            _new_text(fresh)
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for number in range(rounds):
            for name, command in commands.items():
                if name == "new text":
                    _new_text(fresh, number)
                elif name == "nothing kept":
                    shutil.rmtree(os.path.join(home, "cache"), ignore_errors=True)
                started = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
                times[name].append(time.perf_counter() - started)
    sdk = median(times["sdk"])
    floor = (median(times["floor"]) - sdk) * 1000
    figures = [Figure(
        "startup", "the same script importing attrs, pluggy, sqlite3 and argparse - the "
        "script", round(floor, 1), "ms", "", None,
        f"the least a run on the host's libraries adds; median of {rounds}")]
    for name, label, target in (
            ("kept", "kbooks run of one get - the same request by a plain SDK script", True),
            ("new text", "... of a text not run before (its book's inputs kept)", False),
            ("nothing kept", "... the first run after a change (nothing kept)", False)):
        extra = (median(times[name]) - sdk) * 1000
        figures.append(Figure(
            "startup", label, round(extra, 1), "ms", f"<= {RUN_TARGET_MS}" if target else "",
            extra <= RUN_TARGET_MS if target else None,
            f"{median(times[name]) * 1000:.0f} ms against {sdk * 1000:.0f} ms "
            f"({median(times[name]) / sdk:.2f}x), median of {rounds}"))
    return figures


def _new_text(path: str, number: int = -1) -> None:
    """A get as :data:`GET`, for another email each time: a text never checked before."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(GET.replace("a@b.co", f"a{number + 1}@b.co"))


def run(quick: bool) -> list[Figure]:
    rounds = 10 if quick else 40
    times = {name: median(runs) for name, runs in measure(rounds).items()}
    figures = [Figure("startup", name, round(seconds * 1000, 1), "ms",
                      note=f"median of {rounds}")
               for name, seconds in times.items() if name.startswith("python")]
    figures.append(Figure("startup", f'{COLD} / python -c "import stripe"',
                          round(times[COLD] / times['python -c "import stripe"'], 2), "x",
                          note=f"{times[COLD] * 1000:.1f} ms, median of {rounds}; "
                               "the first run after a change"))
    for name, (baseline, most) in TARGETS.items():
        ratio = times[name] / times[baseline]
        figures.append(Figure("startup", f"{name} / {baseline}", round(ratio, 2), "x",
                              f"< {most:g}", ratio < most,
                              f"{times[name] * 1000:.1f} ms, median of {rounds}"))
    figures.extend(run_overhead(rounds))
    return figures
