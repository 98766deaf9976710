#!/usr/bin/env python3
"""Set up the project and run its main jobs, with nothing but Python 3.11+.

    python3 make.py demo     the Stripe Pay manual's tour against the local Stripe sandbox
    python3 make.py test     the whole test suite
    python3 make.py bench    the benchmarks (prints a table)

Each command first makes sure ``.venv`` exists and holds the host and the Stripe Pay book
installed from this checkout (editable), with the test tools. Set-up is skipped when
nothing it depends on has changed since the last run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".kbooks-setup"
SETUP_FILES = ("setup.cfg", "pyproject.toml", "books/stripe_pay/setup.cfg",
               "books/stripe_pay/pyproject.toml")


def say(text: str) -> None:
    print(f"make.py: {text}", file=sys.stderr, flush=True)


def fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in SETUP_FILES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (make.py may be started by an older python3)
        sys.exit("make.py: Python 3.11 or newer is needed")
    if not PYTHON.exists():
        say("creating .venv")
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(VENV, ignore_errors=True)  # no half-made .venv for the next try
            sys.exit(f"make.py: could not create .venv with pip ({exc}); on Debian or Ubuntu "
                     "install the venv module first: apt-get install python3-venv")
    if STAMP.exists() and STAMP.read_text() == fingerprint():
        return
    say("installing kognitos-books and the Stripe Pay book into .venv")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-U", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]", "-e", f"{ROOT / 'books/stripe_pay'}"],
                   check=True)
    STAMP.write_text(fingerprint())


def run(*args: str) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    setup()
    if command == "setup":
        return 0
    if command == "test":
        return run("-m", "pytest", *rest)
    if command == "demo":
        return run(str(ROOT / "examples" / "demo.py"), *rest)
    if command == "bench":
        return run(str(ROOT / "bench" / "run.py"), *rest)
    print(f"make.py: unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
