"""Translation speed against a bare LibCST round trip, on the same files, in one run.

Measured, per round over all files (the ``pt2tf`` corpus; ``--stress``: every
``torch/nn/**/*.py`` of the installed torch instead):

- (a) baseline: ``libcst.parse_module(src).code`` of every file;
- (b) ``fwtranslate.translate(src, to="tf")`` of every file, the rules loaded once before timing
  (as in a long-running CLI or pre-commit hook run over many files).

Both run after one untimed warm-up round, interleaved (a, b, a, b, ...) ``--repeat`` times with a
``gc.collect()`` before each; we report min and median wall seconds, lines per second and the
ratio b / a (the requirement: at most 2.0), also in process CPU time (less sensitive to other
load on the machine; the load average is printed too). The cold start is measured apart in a fresh interpreter:
importing fwtranslate, loading the rules, and the first translation of every file.
``--profile`` adds a cProfile of one translation round: the top functions by cumulative and by
own time. Files that translate() rejects (TranslationError) are left out of both sides and listed.

usage: python benchmarks/translate_speed.py [--stress] [--repeat N] [--profile] [--corpus-dir DIR]
                                            [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import libcst

import fwtranslate
from common import REPO, corpus_files, info_lines, md_table, torch_nn_files, write_section
from fwtranslate.directions import direction_for
from fwtranslate.errors import TranslationError
from fwtranslate.rules import load_rules

COLD_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import fwtranslate
from fwtranslate.directions import direction_for
from fwtranslate.rules import load_rules
t1 = time.perf_counter()
load_rules(direction_for("tf").name)
t2 = time.perf_counter()
for path in sys.argv[1:]:
    try:
        fwtranslate.translate(open(path, encoding="utf-8").read(), to="tf", path=path)
    except fwtranslate.TranslationError:
        pass
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "rules": t2 - t1, "first_pass": t3 - t2}))
"""


def baseline(src: str, path: str) -> None:
    _ = libcst.parse_module(src).code  # parse + codegen


def translation(src: str, path: str) -> None:
    fwtranslate.translate(src, to="tf", path=path)


def one_round(fn, sources) -> tuple[float, float, list[float]]:
    """(wall seconds, CPU seconds of this process, wall seconds per file) of one pass."""
    gc.collect()
    per_file = []
    cpu = time.process_time()
    for name, src in sources:
        t = time.perf_counter()
        fn(src, name)
        per_file.append(time.perf_counter() - t)
    return sum(per_file), time.process_time() - cpu, per_file


def cold_start(paths: list[Path]) -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", COLD_CHILD, *map(str, paths)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - t
    return result


def short(filename: str) -> str:
    """A profile entry's file, without the site-packages / src / stdlib / repo prefix."""
    for prefix in ("/site-packages/", "/src/", str(REPO) + "/"):
        if prefix in filename:
            return filename.split(prefix, 1)[1]
    return re.sub(r"^.*/lib/python3\.\d+/", "", filename)


def profile(sources, top: int) -> list[str]:
    prof = cProfile.Profile()
    prof.enable()
    for name, src in sources:
        translation(src, name)
    prof.disable()
    stats = pstats.Stats(prof).stats  # (file, line, func) -> (primitive calls, calls, own, cumulative, callers)
    total = sum(v[2] for v in stats.values())
    out = []
    for key, title in ((3, "cumulative"), (2, "own (tottime)")):
        rows = sorted(stats.items(), key=lambda kv: kv[1][key], reverse=True)[:top]
        out += [
            "",
            f"Top {top} functions by {title} time, one profiled round ({total:.2f} s of own time under cProfile):",
            "",
        ]
        out += md_table(
            ["function", "calls", "own s", "cumulative s"],
            [
                [f"`{short(f)}:{line}({fn})`" if line else f"`{fn}`", v[1], f"{v[2]:.3f}", f"{v[3]:.3f}"]
                for (f, line, fn), v in rows
            ],
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stress", action="store_true", help="time torch/nn/**/*.py of the installed torch instead")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="add a cProfile of one translation round")
    ap.add_argument("--top", type=int, default=30, help="rows of the profile tables")
    ap.add_argument("--corpus-dir", type=Path)
    ap.add_argument("--write", type=Path, metavar="DOC", help="update this benchmark's section of DOC")
    args = ap.parse_args()

    files = torch_nn_files() if args.stress else corpus_files("pt2tf", args.corpus_dir)
    load_rules(direction_for("tf").name)  # once, before timing
    sources, rejected = [], []
    for name, path in files:  # also the warm-up round of the translator
        src = path.read_text(encoding="utf-8")
        try:
            translation(src, name)
            sources.append((name, src))
        except TranslationError as exc:
            rejected.append(f"{name} ({exc})")
    one_round(baseline, sources)  # warm-up
    lines = sum(len(src.splitlines()) for _, src in sources)
    size = sum(len(src.encode()) for _, src in sources)

    times, cpu, per_file = {"a": [], "b": []}, {"a": [], "b": []}, {"a": [], "b": []}
    for _ in range(args.repeat):
        for key, fn in (("a", baseline), ("b", translation)):
            total, cpu_s, each = one_round(fn, sources)
            times[key].append(total)
            cpu[key].append(cpu_s)
            per_file[key].append(each)
    cold = cold_start([p for n, p in files if n in {s for s, _ in sources}])

    a_min, b_min = min(times["a"]), min(times["b"])
    a_med, b_med = statistics.median(times["a"]), statistics.median(times["b"])
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    what = "torch/nn/**/*.py of the installed torch (--stress)" if args.stress else "the pt2tf corpus"
    out = info_lines({"load average at the end (1/5/15 min)": " ".join(load)})
    out += [
        "",
        (
            f"Input: {len(sources)} files of {what}, {lines} lines, {size / 1e6:.2f} MB; "
            f"{args.repeat} timed rounds after one warm-up round."
        ),
        "",
    ]
    out += md_table(
        ["", "min s", "median s", "lines/s (min)"],
        [
            ["(a) libcst parse + codegen", f"{a_min:.3f}", f"{a_med:.3f}", f"{lines / a_min:,.0f}"],
            ["(b) fwtranslate.translate (rules preloaded)", f"{b_min:.3f}", f"{b_med:.3f}", f"{lines / b_min:,.0f}"],
            ["**ratio b / a** (requirement <= 2.0)", f"**{b_min / a_min:.2f}**", f"**{b_med / a_med:.2f}**", ""],
            [
                "ratio b / a in process CPU time",
                f"{min(cpu['b']) / min(cpu['a']):.2f}",
                f"{statistics.median(cpu['b']) / statistics.median(cpu['a']):.2f}",
                "",
            ],
        ],
    )
    out += [
        "",
        (
            f"Cold start (fresh interpreter): import fwtranslate {cold['import']:.2f} s, load rules "
            f"{cold['rules']:.3f} s, first translation of all files {cold['first_pass']:.3f} s; "
            f"whole process {cold['process']:.2f} s."
        ),
    ]
    if rejected:
        out.append(f"Left out (TranslationError): {', '.join(rejected)}")
    # per file: min over rounds; the worst ratios first
    rows = []
    for i, (name, src) in enumerate(sources):
        fa = min(r[i] for r in per_file["a"])
        fb = min(r[i] for r in per_file["b"])
        rows.append((fb / fa, name, len(src.splitlines()), fa, fb))
    rows.sort(reverse=True)
    shown = rows if len(rows) <= 15 else rows[:10]
    out += [
        "",
        "Per file (min over rounds)"
        + ("" if shown is rows else f", the {len(shown)} worst ratios of {len(rows)}")
        + ":",
        "",
    ]
    out += md_table(
        ["file", "lines", "(a) ms", "(b) ms", "b / a"],
        [[n, ln, f"{fa * 1e3:.1f}", f"{fb * 1e3:.1f}", f"{r:.2f}"] for r, n, ln, fa, fb in shown],
    )
    if args.profile:
        out += profile(sources, args.top)
    text = "\n".join(out)
    print(text)
    if args.write:
        write_section(args.write, "translate_speed_stress" if args.stress else "translate_speed", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
