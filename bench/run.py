"""Run the benchmarks and print their figures, side by side, in one table.

    python3 make.py bench                        every benchmark (several minutes)
    python3 make.py bench --quick                fewer rows and repeats (about a minute)
    python3 make.py bench overhead startup       some of them
    python3 make.py bench --json                 the figures as JSON

Benchmarks (each documented in its module and in docs/PERFORMANCE.md):

    requests   requests per command of the Stripe Pay manual, against the fewest possible
    overhead   the manual's commands through Runtime.call and Runtime.run against the SDK
    startup    kbooks --version, --help, books and procedures against python alone and
               importing stripe; kbooks run of one get against a plain SDK script
    filters    gets with conditions over 10,000 customers
    bulk       kbooks run --each over 1,000 rows at a 25/s limit, against a plain SDK loop
    loops      a loop's overhead per iteration, its memory at 1k-100k records, checking speed
    scale      the sandbox's list pages, filtered lists and searches at 1k, 10k and 50k objects
    events     deliveries acknowledged a second (verified, durable), event to first step
               p50/p99, catch-up of 10,000 missed events

Each starts its own sandbox in a subprocess on a free port of 127.0.0.1 and stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Figure  # noqa: E402 (after the path is set)

BENCHMARKS = ("requests", "overhead", "startup", "filters", "bulk", "loops", "scale",
              "events")


def _runner(name: str) -> Callable[[bool], list[Figure]]:
    # Imported when chosen: each pulls in what it measures.
    if name == "requests":
        import requests_per_command as module
    elif name == "overhead":
        import host_overhead as module
    elif name == "startup":
        import cli_start as module
    elif name == "filters":
        import filtered_gets as module
    elif name == "loops":
        import loops as module
    elif name == "scale":
        import sandbox_scale as module
    elif name == "events":
        import events as module
    else:
        import bulk_run as module
    return module.run


def machine() -> dict[str, object]:
    import stripe

    return {"python": platform.python_version(), "stripe": stripe.VERSION,
            "cpus": os.cpu_count(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}


def table(figures: list[Figure]) -> str:
    rows = [("benchmark", "figure", "measured", "target", "met", "how / note")]
    for f in figures:
        value = f"{f.value:g}" if isinstance(f.value, float) else str(f.value)
        met = "" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.bench, f.name, f"{value} {f.unit}".strip(), f.target, met, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True))
                     + "  " + r[5])
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 10)
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="benchmarks: " + ", ".join(BENCHMARKS))
    parser.add_argument("names", nargs="*", metavar="BENCHMARK",
                        help="which to run (default: all)")
    parser.add_argument("--only", default="", metavar="A,B",
                        help="which to run, comma-separated (same as naming them)")
    parser.add_argument("--quick", action="store_true", help="fewer rows and repeats")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    chosen = [n for n in args.names + [x.strip() for x in args.only.split(",")] if n]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in chosen] if chosen else list(BENCHMARKS)
    figures: list[Figure] = []
    seconds = {}
    for name in names:
        print(f"bench: {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr,
              flush=True)
        started = time.perf_counter()
        figures.extend(_runner(name)(args.quick))
        seconds[name] = round(time.perf_counter() - started, 1)
    about = {**machine(), "quick": args.quick, "seconds": seconds}
    if args.json:
        print(json.dumps({"machine": about, "figures": [f.to_json() for f in figures]},
                         indent=2))
    else:
        print(f"Python {about['python']}, stripe {about['stripe']}, {about['cpus']} CPUs, "
              f"{about['platform']}, {about['date']}{', quick' if args.quick else ''}")
        print(table(figures))
        judged = [f for f in figures if f.met is not None]
        print(f"\n{sum(1 for f in judged if f.met)} of {len(judged)} targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
