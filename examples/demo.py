"""The main job: the Stripe Pay manual's tour, against the local Stripe sandbox.

1. starts the sandbox on a free loopback port (any sk_test_ key works there);
2. installs the Stripe Pay book into a private kbooks home, the way a user does
   (`kbooks install stripe_pay --set api_base=...`, the key given on standard input);
3. runs `examples/stripe-tour.kog` with `kbooks run`, showing each step's result;
4. shows what the sandbox received (requests per step).

Run it with `python3 make.py demo` (sets up .venv first). `--json` passes through to
`kbooks run`; `--keep` leaves the sandbox running until Ctrl-C so you can try more
commands against it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from stripe_pay.sandbox.server import SandboxServer

HERE = Path(__file__).resolve().parent
TOUR = HERE / "stripe-tour.kog"
#: A made-up test key: the sandbox accepts any well-formed sk_test_ key.
DEMO_KEY = "sk_test_" + "demo" * 6


def kbooks(*args: str, env: dict[str, str], input: str | None = None) -> int:
    exe = Path(sys.executable).with_name("kbooks")
    print(f"\n$ kbooks {' '.join(args)}", flush=True)
    return subprocess.run([str(exe), *args], env=env, input=input, text=True).returncode


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    keep = "--keep" in argv
    with tempfile.TemporaryDirectory(prefix="kbooks-demo-") as home, SandboxServer() as server:
        print(f"Stripe sandbox listening on {server.url}")
        env = {**os.environ, "KBOOKS_HOME": home}
        env.pop("KBOOKS_STRIPE_PAY_API_KEY", None)
        code = kbooks("install", "stripe_pay", "--set", f"api_base={server.url}", env=env,
                      input=DEMO_KEY + "\n")
        if code:
            return code
        kbooks("connections", env=env)
        code = kbooks("run", str(TOUR.relative_to(Path.cwd()) if TOUR.is_relative_to(Path.cwd())
                                  else TOUR), *(["--json"] if as_json else []), env=env)
        with urllib.request.urlopen(f"{server.url}/_sandbox/requests") as response:
            log = json.load(response)
        tour = [r for r in log if r["path"].startswith("/v1/")]
        print(f"\nThe sandbox answered {len(tour)} API requests "
              f"(1 to verify the key at install, the rest for the tour):")
        for entry in tour:
            print(f"  {entry['status']}  {entry['method']:<6} {entry['path']}")
        if keep:
            print(f"\nSandbox still running at {server.url}; KBOOKS_HOME={home}. Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt, EOFError):
                input()
        return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
