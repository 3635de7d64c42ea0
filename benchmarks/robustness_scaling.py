"""Does translation time grow linearly with file size? 10k vs 50k lines, against LibCST.

Generates one synthetic model file of each size (``make_source``: model classes, helpers with
plain Python around framework calls, comments and docstrings, in a fixed mix), and times, in
one process after a warm-up:

- ``libcst.parse_module(src).code`` (the floor: LibCST itself);
- ``fwtranslate.translate(src)`` (rules loaded before timing).

It prints seconds, lines/s and the growth factor from 10k to 50k lines (linear: about 5), and
exits 1 when translation grows more than twice as fast as linear (factor > 10) or more than
twice as fast as LibCST's own parse + codegen does on the same files. ``make_source`` lives in
fwtranslate.testing.large_files; tests/common/test_robustness.py uses it to check that a 50k-line
file translates correctly (no timing there).

usage: python benchmarks/robustness_scaling.py [--sizes 10000,50000] [--write docs/robustness.md]

``--memory`` measures peak memory instead: each size is translated in a fresh process (the
peak resident set of the child, ``getrusage(RUSAGE_CHILDREN).ru_maxrss``, less that of a
child that only imports fwtranslate, loads the rules and builds the source), with its time,
for 1k to 200k lines and one line of about 1 MB of calls (``--long-line``; it is refused
above guard.MAX_LINE characters, which is measured too: what the refusal costs).

usage: python benchmarks/robustness_scaling.py --memory [--sizes 1000,10000,50000,100000,200000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

from fwtranslate.testing.large_files import make_source

_CHILD = """
import os, resource, sys, time
sys.path[:0] = [{src!r}]
import fwtranslate
from fwtranslate.rules import load_rules
from fwtranslate.testing.large_files import make_long_line, make_source
load_rules("torch_to_tf")
kind, size, run = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "run"
source = make_source(size) if kind == "lines" else make_long_line(size)
if run:
    start = time.perf_counter()
    try:
        fwtranslate.translate(source, to="tf")
        outcome = "translated"
    except fwtranslate.TranslationError as exc:
        outcome = "refused: " + str(exc)
    print(time.perf_counter() - start, outcome, source.count(chr(10)), sep="|")
"""


def _child(kind: str, size: int, run: bool) -> tuple[int, str]:
    """(peak RSS in bytes, stdout) of a fresh process translating one source."""
    import subprocess

    here = Path(__file__).resolve().parent
    code = _CHILD.format(src=str(here.parent / "src"))
    # RUSAGE_CHILDREN keeps the largest child's peak of a process' life: each child is measured
    # by a fresh parent of its own
    parent = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if done.returncode == 0 else -1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", parent, sys.executable, "-c", code, kind, str(size), "run" if run else "base"],
        capture_output=True,
        text=True,
        check=True,
    )
    *out, peak = done.stdout.strip().split("\n")
    if int(peak) < 0:
        raise RuntimeError(f"the {kind} {size} child failed")
    return int(peak) * 1024, "\n".join(out)  # ru_maxrss is in KiB on Linux


def measure_memory(sizes: list[int], long_line: int) -> list[tuple[str, int, float, float, str]]:
    """(what, lines, seconds, bytes per line above the baseline, outcome, bytes) per source."""
    rows = []
    for kind, size in [("lines", n) for n in sizes] + ([("long", long_line)] if long_line else []):
        base, _ = _child(kind, size, False)
        peak, out = _child(kind, size, True)
        seconds, outcome, lines = out.rsplit("\n", 1)[-1].split("|")
        what = f"{size:,} lines" if kind == "lines" else f"one line of {size:,} characters"
        extra = max(peak - base, 0)
        rows.append((what, int(lines), float(seconds), extra / int(lines), outcome, extra))
        print(
            f"{what:>32}: {float(seconds):7.2f} s, peak {extra / 2**20:8.1f} MiB above the baseline "
            f"({extra / int(lines):8.0f} B/line), {outcome}",
            flush=True,
        )
    return rows


def _time(fn, source: str) -> float:
    gc.collect()
    start = time.perf_counter()
    fn(source)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--write", type=Path, help="put the results between the <!-- scaling: --> markers of this file")
    parser.add_argument("--memory", action="store_true", help="peak memory per size, each in a fresh process")
    parser.add_argument(
        "--long-line",
        type=int,
        default=1_000_000,
        help="with --memory: one line of this many characters of calls (0: none)",
    )
    args = parser.parse_args()
    if args.memory and args.sizes == "10000,50000":
        args.sizes = "1000,10000,50000,100000,200000"
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.memory:
        measure_memory(sizes, args.long_line)
        return 0

    import libcst

    import fwtranslate
    from fwtranslate.rules import load_rules

    load_rules("torch_to_tf")
    fwtranslate.translate(make_source(200))  # warm-up: imports, caches
    rows = []
    for size in sizes:
        source = make_source(size)
        n = source.count("\n")
        base = _time(lambda s: libcst.parse_module(s).code, source)
        ours = _time(lambda s: fwtranslate.translate(s), source)
        rows.append((n, base, ours))
        print(
            f"{n:>7} lines: libcst parse+codegen {base:7.2f} s ({n / base:7.0f} lines/s)   "
            f"translate {ours:7.2f} s ({n / ours:7.0f} lines/s)   ratio {ours / base:.2f}",
            flush=True,
        )
    (n0, b0, t0), (n1, b1, t1) = rows[0], rows[-1]
    size_factor, ours_factor, base_factor = n1 / n0, t1 / t0, b1 / b0
    print(f"size x{size_factor:.1f}: translate time x{ours_factor:.2f}, libcst time x{base_factor:.2f}")
    linear = not (ours_factor > 2 * size_factor or ours_factor > 2 * base_factor)
    if args.write:
        _write(args.write, rows, size_factor, ours_factor, base_factor, linear)
    if not linear:
        print("NOT LINEAR: translation grows more than twice as fast as the file", file=sys.stderr)
        return 1
    return 0


def _write(doc: Path, rows, size_factor: float, ours_factor: float, base_factor: float, linear: bool) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import info_lines, md_table

    try:
        load = " ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    except OSError:
        load = "unknown"
    table = md_table(
        ["lines", "LibCST parse + codegen (s)", "translate (s)", "translate lines/s", "ratio"],
        [[n, f"{b:.2f}", f"{t:.2f}", f"{n / t:.0f}", f"{t / b:.2f}"] for n, b, t in rows],
    )
    verdict = "linear" if linear else "NOT linear"
    text = "\n".join(
        [
            *table,
            "",
            (
                f"File size x{size_factor:.1f}: translation time x{ours_factor:.2f}, LibCST's own time "
                f"x{base_factor:.2f} ({verdict}). One run each, wall clock; other work on the machine "
                f"moves these figures (load average at the end: {load})."
            ),
            "",
            *info_lines(),
        ]
    )
    body = doc.read_text(encoding="utf-8")
    head, rest = body.split("<!-- scaling: start -->", 1)
    _, tail = rest.split("<!-- scaling: end -->", 1)
    doc.write_text(f"{head}<!-- scaling: start -->\n{text}\n<!-- scaling: end -->{tail}", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    sys.exit(main())
