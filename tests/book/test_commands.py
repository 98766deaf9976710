"""The book's command (``kbooks sandbox``) and the CLI staying light with the book installed."""

import argparse
import subprocess
import sys

from stripe_pay.book import register_commands


def test_register_commands_adds_sandbox():
    registered = {}

    def register(name, *, help, configure, run):
        registered[name] = (help, configure, run)

    register_commands(register=register)
    help_text, configure, run = registered["sandbox"]
    assert "Stripe" in help_text
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["--port", "0", "--quiet"])
    assert args.port == 0 and callable(run)


CHECK = """
import contextlib, io, sys
from kognitos_books.cli import main
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
    main({argv!r})
print('stripe' in sys.modules, 'werkzeug' in sys.modules)
"""


def test_kbooks_help_and_books_import_neither_stripe_nor_werkzeug(kbooks_home):
    for argv in (["--help"], ["books"], ["sandbox", "--help"]):
        out = subprocess.run([sys.executable, "-c", CHECK.format(argv=argv)],
                             capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["False", "False"], (argv, out.stdout, out.stderr)
