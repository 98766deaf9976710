"""Loops: what the host adds to each iteration, how memory grows with the list, and how
checking scales with an automation's length.

* host overhead: ``for each customer in stripe`` / ``update the customer ...`` over N
  customers, against a plain SDK loop (every page listed, each customer updated) sending
  the same requests, interleaved; the figure is the extra time per iteration over the
  plain loop's time per request: at most 5%.
* memory: the peak of Python's allocations (tracemalloc) while a loop reads 1k, 10k and
  100k customers page by page, each run in its own process: bounded, at most 150 MB at 100k.
* checking: parsing and checking an automation of 1,000 and 10,000 lines (and 50,000 in a
  full run), per line: a get with a condition on each line, and a mix of commands with
  inputs, loops, ifs and conditions joined with and/or. Each round reads a new text (the
  runtime keeps the texts it checked), after the books are loaded; the best of the rounds.
  As much a line at 10,000 lines as at 1,000 (within 25%), and no slower than the code
  before blocks, times and triggers came into the language (it took about 35 us a line then,
  on the machine of that day): both versions check the same texts, the older one exported
  from git, in child processes that take turns, so a busy moment hits both (the figure is
  left out, with the reason, where git or that revision is not at hand).

    python3 bench/loops.py --checking     only the checking figures (no sandbox; seconds)

    python3 bench/loops.py --checking     only the checking figures (no sandbox; seconds)
    python3 bench/loops.py --bytecodes    the bytecodes a line takes to parse and check, a
                                          count to compare versions by on a busy machine
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

from common import BENCH, Figure, Sandbox, book_env, median

UPDATE = 'for each customer in stripe\n  update the customer with the description is "{n}"\n'
READ = ('for each customer in stripe\n  if the customer\'s email ends with "@nowhere.test"\n'
        '    say "{the customer\'s email}"\n')


def plain_loop(url: str, n: int) -> float:
    import stripe
    from common import KEY

    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=2)
    started = time.perf_counter()
    for customer in client.v1.customers.list({"limit": 100}).auto_paging_iter():
        client.v1.customers.update(customer.id, {"description": f"plain {n}"},
                                   {"idempotency_key": f"plain-{n}-{customer.id}"})
    return time.perf_counter() - started


def host_loop(n: int) -> float:
    from kognitos_books import Runtime

    rt = Runtime()
    started = time.perf_counter()
    result = rt.run(UPDATE.replace("{n}", str(n)))
    elapsed = time.perf_counter() - started
    assert result.ok, result.failures[:1]
    return elapsed


def memory(count: int) -> dict[str, float]:
    """Run the reading loop over ``count`` seeded customers in a child process."""
    with Sandbox(customers=count) as sandbox, book_env(sandbox.url):
        out = subprocess.run([sys.executable, str(BENCH / "loops.py"), "--child"],
                             env=dict(os.environ), capture_output=True, text=True,
                             timeout=900, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def child() -> None:
    import tracemalloc

    from kognitos_books import Runtime

    rt = Runtime()
    rt.check(READ)  # (the books loaded and described before measuring)
    tracemalloc.start()
    started = time.perf_counter()
    result = rt.run(READ, journal=False)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    assert result.ok
    print(json.dumps({"peak_mb": peak / 2**20, "seconds": seconds}))


#: A line of the automation checked, numbered: a get with a condition.
GET = 'get a customer from stripe whose email is "c{i}-{r}@example.com"\n'
#: Eleven lines of it, numbered: commands with inputs on their own lines and on the command's
#: line, a condition joined with "and", a loop, an if with "or" and an otherwise.
MIXED = (
    'get a customer from stripe whose email is "c{i}-{r}@example.com"\n'
    'create a customer in stripe with\n'
    '  the email is "new{i}-{r}@example.com"\n'
    '  the name is "Customer {i}"\n'
    '  the metadata\'s plan is "gold"\n'
    'get all invoices from stripe whose status is "open" and due date is before 2025-01-{d}'
    ' as the overdue invoices\n'
    'for each invoice in the overdue invoices\n'
    '  if the invoice\'s amount due is more than $1{i}.00 or the invoice\'s customer is the'
    ' customer\'s id\n'
    '    say "big: {{the invoice\'s id}}"\n'
    '  otherwise\n'
    '    update the invoice with the description is "small {i}"\n'
)


#: Seven lines, numbered, of what the language read before it had blocks: a get with a
#: condition, a create with its inputs on their own lines, a plural get with conditions
#: joined by "and", an update with its input on the command's line.
COMMANDS = (
    'get a customer from stripe whose email is "c{i}-{r}@example.com"\n'
    'create a customer in stripe with\n'
    '  the email is "new{i}-{r}@example.com"\n'
    '  the name is "Customer {i}"\n'
    '  the metadata\'s plan is "gold"\n'
    'get all invoices from stripe whose status is "open" and due date is before 2025-01-{d}\n'
    'update the customer with the description is "small {i}"\n'
)
#: The revision of the code before blocks, times and triggers were added to the language.
BEFORE_BLOCKS = "b4cbb6a"


def automation(kind: str, lines: int, r: int) -> str:
    """An automation of ``lines`` lines of ``kind`` (``get``, ``mixed`` or ``commands``);
    ``r`` makes each round's text new."""
    if kind == "get":
        return "".join(GET.format(i=i, r=r) for i in range(lines))
    if kind == "commands":
        return "".join(COMMANDS.format(i=i, r=r, d=1 + i % 28) for i in range(lines // 7))
    return "".join(MIXED.format(i=i, r=r, d=1 + i % 28) for i in range(lines // 11))


def checking(kind: str, lines: int, rounds: int = 3) -> dict[str, float]:
    """Seconds a line to parse, and to parse and check, ``lines`` lines of ``kind``."""
    from kognitos_books import Runtime
    from kognitos_books.language.parser import parse

    rt = Runtime()
    rt.check(automation(kind, 22, -1))  # the books loaded and described before measuring
    best = {"parse": float("inf"), "check": float("inf")}
    for r in range(rounds):
        text = automation(kind, lines, r)
        counted = text.count("\n")
        started = time.perf_counter()
        parse(text)
        gc.collect(1)
        best["parse"] = min(best["parse"], (time.perf_counter() - started) / counted)
        started = time.perf_counter()
        rt.check(text)
        # (and the young generations' pass over what is left of the work: it is part of it)
        gc.collect(1)
        best["check"] = min(best["check"], (time.perf_counter() - started) / counted)
    return best


def bytecodes(kind: str, lines: int = 1100) -> dict[str, float]:
    """Python bytecodes executed a line to parse, and to check, ``lines`` lines of ``kind``:
    a count a busy machine does not move, to compare two versions of the code by (the work
    done in C, regular expressions and allocation among it, is not counted)."""
    from kognitos_books import Runtime
    from kognitos_books.checker import check
    from kognitos_books.language.parser import parse

    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        if event == "opcode":
            count += 1
        return tracer

    rt = Runtime()
    rt.check(automation(kind, 22, -1))  # the books loaded and described before counting
    text = automation(kind, lines, 7)
    counted = text.count("\n")
    sys.settrace(tracer)
    parsed = parse(text)
    sys.settrace(None)
    found = {"parse": count / counted}
    count = 0
    sys.settrace(tracer)
    check(rt, parsed, ())
    sys.settrace(None)
    found["check"] = count / counted
    return found


def bytecode_figures() -> list[Figure]:
    figures = []
    with book_env("http://127.0.0.1:9"):
        for kind in ("get", "mixed"):
            found = bytecodes(kind)
            figures.append(Figure(
                "loops", f"bytecodes to parse and check a line ({kind})",
                round(found["parse"] + found["check"]), "a line", "", None,
                f"parse {found['parse']:.0f}, check {found['check']:.0f}; 1,100 lines"))
    return figures


def _export(revision: str, into: str) -> str | None:
    """The host and the book as they were at ``revision``, written under ``into``; None, or
    why not, when git or the revision is not at hand (a shallow clone, an export)."""
    import io
    import tarfile

    try:
        found = subprocess.run(["git", "-C", str(BENCH.parent), "archive", "--format=tar",
                                revision, "kognitos_books", "books/stripe_pay"],
                               capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git is not at hand ({exc})"
    if found.returncode != 0:
        return f"revision {revision} is not in this clone"
    with tarfile.open(fileobj=io.BytesIO(found.stdout)) as archive:
        archive.extractall(into, filter="data")
    return None


def side_by_side(quick: bool) -> list[Figure]:
    """Checking now against checking at :data:`BEFORE_BLOCKS`, on texts both read."""
    import tempfile

    lines = 3000 if quick else 10000
    turns = 5 if quick else 7
    with tempfile.TemporaryDirectory(prefix="kbooks-before-") as before:
        why = _export(BEFORE_BLOCKS, before)
        if why is not None:
            return [Figure("loops", "parse and check a line, now / before blocks", None, "x",
                           "<= 1.0", None, f"left out: {why}")]
        trees = {"now": str(BENCH.parent), "before": before}
        best: dict[tuple[str, str], float] = {}
        counted: dict[tuple[str, str], float] = {}
        for _ in range(turns):
            for kind in ("get", "commands"):
                for name, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                        [tree, os.path.join(tree, "books")]), "PYTHONDONTWRITEBYTECODE": "1"}
                    out = subprocess.run(
                        [sys.executable, str(BENCH / "loops.py"), "--checking-child", kind,
                         str(lines), tree], env=env, capture_output=True, text=True,
                        timeout=600, check=True)
                    found = json.loads(out.stdout.splitlines()[-1])
                    best[kind, name] = min(best.get((kind, name), float("inf")),
                                           found["check"])
                    counted[kind, name] = found["bytecodes"]
    figures = []
    for kind in ("get", "commands"):
        now, then = best[kind, "now"] * 1e6, best[kind, "before"] * 1e6
        ratio = now / then
        figures.append(Figure(
            "loops", f"parse and check a line, now / before blocks ({kind})",
            round(ratio, 2), "x", "<= 1.0", ratio <= 1.0,
            f"{now:.1f} against {then:.1f} us a line, {lines:,} lines; best of {turns} "
            f"turns each ({BEFORE_BLOCKS})"))
        now, then = counted[kind, "now"], counted[kind, "before"]
        figures.append(Figure(
            "loops", f"bytecodes to parse and check a line, now / before blocks ({kind})",
            round(now / then, 2), "x", "", None,
            f"{now:.0f} against {then:.0f}: a count no busy moment moves"))
    return figures


def checking_child(kind: str, lines: int, tree: str) -> None:
    """Checking figures for the code under ``tree`` (on ``PYTHONPATH``), as JSON."""
    import kognitos_books

    assert os.path.abspath(kognitos_books.__file__).startswith(os.path.abspath(tree))
    with book_env("http://127.0.0.1:9"):
        found = checking(kind, lines, 3)
        found["bytecodes"] = sum(bytecodes(kind).values())
        print(json.dumps(found))


def checking_figures(quick: bool) -> list[Figure]:
    figures = []
    # (50,000 lines is about 3 MB: an automation is at most 4 MiB)
    sizes = (1000, 10000) if quick else (1000, 10000, 50000)
    with book_env("http://127.0.0.1:9"):  # (checking sends nothing)
        for kind in ("get", "mixed"):
            found = {lines: checking(kind, lines, {1000: 15, 10000: 5}.get(lines, 2))
                     for lines in sizes}
            for lines, best in found.items():
                per_line = best["check"] * 1e6
                figures.append(Figure(
                    "loops", f"parse and check, {lines:,} lines ({kind})", round(per_line, 1),
                    "us a line", "", None,
                    f"parse alone {best['parse'] * 1e6:.1f} us; best of rounds"))
            growth = found[10000]["check"] / found[1000]["check"]
            figures.append(Figure("loops", f"parse and check a line, 10,000 / 1,000 lines "
                                  f"({kind})", round(growth, 2), "x", "<= 1.25",
                                  growth <= 1.25, "linear: as much a line at any length"))
    return figures + side_by_side(quick)


def run(quick: bool) -> list[Figure]:
    n = 300 if quick else 2000
    rounds = 2 if quick else 3
    figures: list[Figure] = []
    with Sandbox(customers=n) as sandbox, book_env(sandbox.url):
        host, plain = [], []
        for i in range(rounds):
            plain.append(plain_loop(sandbox.url, i))
            host.append(host_loop(i))
    per_request = median(plain) / n
    extra = (median(host) - median(plain)) / n
    ratio = extra / per_request
    figures.append(Figure("loops", f"host overhead per iteration / a request ({n:,} records)",
                          round(ratio, 3), "x", "<= 0.05", ratio <= 0.05,
                          f"{extra * 1e6:+.0f} us on {per_request * 1e3:.2f} ms; median of "
                          f"{rounds} interleaved runs"))
    sizes = (1000, 10000) if quick else (1000, 10000, 100000)
    for count in sizes:
        found = memory(count)
        last = count == sizes[-1] and count == 100000
        figures.append(Figure("loops", f"peak memory reading {count:,} records in a loop",
                              round(found["peak_mb"], 1), "MB",
                              "<= 150" if last else "", found["peak_mb"] <= 150 if last
                              else None, f"{found['seconds']:.1f} s, tracemalloc peak"))
    return figures + checking_figures(quick)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    elif sys.argv[1:2] == ["--checking-child"]:
        checking_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1:2] == ["--checking"]:
        from run import table

        print(table(checking_figures("--quick" in sys.argv[2:])))
    elif sys.argv[1:] == ["--bytecodes"]:
        from run import table

        print(table(bytecode_figures()))
