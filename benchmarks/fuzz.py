"""Run the fuzzer of tests/common/test_fuzz.py (fwtranslate.testing.fuzz) for a while; count what happened.

Draws random sources from the same generator (random, not the test's fixed examples) and
translates each to both targets; prints the inputs tried, translations refused
(TranslationError), outputs that parsed, and failures (a crash or an output that does not
parse), with the first failing inputs written to --failures.

usage: python benchmarks/fuzz.py [--seconds 300] [--count N] [--failures fuzz-failures.txt]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--count", type=int, default=0, help="stop after this many inputs (0: no limit)")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures.txt"))
    args = parser.parse_args()
    from hypothesis import HealthCheck, Phase, given, settings

    from fwtranslate.testing import fuzz

    counts = {"inputs": 0, "refused": 0, "parsed": 0, "unchanged-invalid": 0, "failures": 0}
    failures: list[str] = []
    deadline = time.monotonic() + args.seconds

    class Done(Exception):
        pass

    @settings(
        max_examples=args.count or 10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz.sources())
    def run(source: str) -> None:
        if time.monotonic() > deadline:
            raise Done
        counts["inputs"] += 1
        try:
            for outcome in fuzz.check(source).values():
                counts["parsed" if outcome == "ok" else outcome] += 1
        except Exception:  # noqa: BLE001 - counted and recorded
            counts["failures"] += 1
            if len(failures) < 20:
                failures.append(f"{source!r}\n{traceback.format_exc(limit=3)}")

    try:
        run()
    except Done:
        pass
    print(
        f"inputs {counts['inputs']} (x2 targets): refused {counts['refused']}, outputs parsed {counts['parsed']}, "
        f"returned unchanged, invalid as given {counts['unchanged-invalid']}, failures {counts['failures']}"
    )
    if failures:
        args.failures.write_text("\n\n".join(failures), encoding="utf-8")
        print(f"failing inputs: {args.failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
