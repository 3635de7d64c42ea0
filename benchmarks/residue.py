"""Nothing silent on code nobody tuned for: unmarked source-framework lines in real translations.

Real model files of packages outside the public corpus (torchvision, timm, segmentation-models-
pytorch; tf-keras applications, keras-hub models: the ranking wheels of ``api_coverage.py``,
downloaded once with ``pip download --no-deps``) are translated to the other framework, and each
output is read by ``fwtranslate.testing.residue``: a statement that still uses a name of the source
framework must carry the ``# fwtranslate: unconverted`` marker (and the file then exits 1). The
table counts, per package, the files, those that exit 0, the files with an unmarked leftover, and
the **silent** ones: exit 0 with a leftover (the worst case: the tool claims a full translation).

Files are picked without looking at them: every ``.py`` of the listed model folders that imports the
source framework, sorted by path, every ``--stride``-th one. A translation that takes more than
``--timeout`` seconds is counted as such.

    python benchmarks/residue.py                         # table on stdout
    python benchmarks/residue.py --write docs/residue.md
"""

from __future__ import annotations

import argparse
import collections
import re
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_coverage import RANKING_DIR, fetch_ranking_code
from common import info_lines, md_table, write_section

# (package, folder inside its unpacked wheel, target, the import that marks framework code)
SOURCES = [
    ("torchvision", "torchvision/torchvision/models", "tf", "torch"),
    ("timm", "timm/timm/models", "tf", "torch"),
    ("timm layers", "timm/timm/layers", "tf", "torch"),
    ("segmentation_models_pytorch", "segmentation_models_pytorch/segmentation_models_pytorch", "tf", "torch"),
    ("tf_keras applications", "tf_keras/tf_keras/src/applications", "torch", "tf_keras|tensorflow|keras"),
    ("tf_keras layers", "tf_keras/tf_keras/src/layers", "torch", "tf_keras|tensorflow|keras"),
    ("keras_hub models", "keras_hub/keras_hub/src/models", "torch", "keras"),
    ("keras_hub layers", "keras_hub/keras_hub/src/layers", "torch", "keras"),
]


class _Timeout(Exception):
    pass


def pick(folder: Path, framework: str, stride: int, limit: int) -> list[Path]:
    imports = re.compile(rf"^\s*(import|from)\s+({framework})\b", re.M)
    files = [
        f
        for f in sorted(folder.rglob("*.py"))
        if not f.name.startswith("test") and not f.name.endswith("_test.py") and imports.search(f.read_text("utf-8"))
    ]
    return files[::stride][:limit]


def check(file: Path, to: str, timeout: int) -> dict:
    import fwtranslate
    from fwtranslate.directions import direction_for
    from fwtranslate.testing.residue import unmarked_residue

    def _alarm(*_):
        raise _Timeout

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    start = time.perf_counter()
    try:
        result = fwtranslate.translate(file.read_text("utf-8"), to=to, path=str(file))
    except _Timeout:
        return {"outcome": "timeout"}
    except fwtranslate.TranslationError as error:
        return {"outcome": "refused", "why": str(error)[:80]}
    finally:
        signal.alarm(0)
    errors = sum(d.severity == "error" for d in result.diagnostics)
    residue = unmarked_residue(result.code, direction_for(to))
    stats = result.stats
    return {
        "outcome": "ok",
        "errors": errors,
        "framework lines": stats.framework_lines,
        "converted lines": stats.converted_lines,
        "residue": residue,
        "seconds": time.perf_counter() - start,
        "lines": result.code.count("\n") + 1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stride", type=int, default=4, help="take every N-th file of a folder")
    parser.add_argument("--limit", type=int, default=15, help="files per folder at most")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per translation")
    parser.add_argument("--write", type=Path, help="replace the table's section in this markdown file")
    parser.add_argument("--examples", type=int, default=3, help="unmarked leftovers shown per file")
    args = parser.parse_args()

    fetch_ranking_code()
    rows, details, names = [], [], collections.Counter()
    totals = collections.Counter()
    for package, folder, to, framework in SOURCES:
        files = pick(RANKING_DIR / "src" / folder, framework, args.stride, args.limit)
        count = collections.Counter()
        for file in files:
            shown = file.relative_to(RANKING_DIR / "src" / folder.split("/")[0]).as_posix()
            outcome = check(file, to, args.timeout)
            count["files"] += 1
            if outcome["outcome"] != "ok":
                count[outcome["outcome"]] += 1
                details.append(f"- `{shown}`: {outcome['outcome']} {outcome.get('why', '')}".rstrip())
                print(shown, outcome["outcome"], file=sys.stderr)
                continue
            residue = outcome["residue"]
            count["exit 0"] += outcome["errors"] == 0
            count["with leftover"] += bool(residue)
            count["silent"] += bool(residue) and outcome["errors"] == 0
            count["leftover statements"] += len(residue)
            count["framework lines"] += outcome["framework lines"]
            count["converted lines"] += outcome["converted lines"]
            names.update(r.name for r in residue)
            print(f"{shown}: errors {outcome['errors']}, unmarked {len(residue)}", file=sys.stderr)
            if residue:
                shown_residue = "; ".join(f"line {r.line} `{r.text[:70]}`" for r in residue[: args.examples])
                details.append(f"- `{shown}` ({outcome['errors']} errors): {shown_residue}")
        totals.update(count)
        rows.append([package, f"-> {to}", *(count[k] for k in _COLUMNS), _share(count)])
    rows.append(["**all**", "", *(f"**{totals[k]}**" for k in _COLUMNS), f"**{_share(totals)}**"])
    header = ["package (folder)", "to", *_COLUMNS, "converted share (framework lines)"]
    text = "\n".join(
        [
            *info_lines(
                {"files": f"one framework file in {args.stride} of each folder (sorted by path), at most {args.limit}"}
            ),
            "",
            *md_table(header, rows),
            "",
            "Unmarked leftovers (first of each file):" if details else "No unmarked leftover.",
            "",
            *details,
        ]
    )
    print(text)
    if args.write:
        write_section(args.write, "residue", text)
    return 0


def _share(count: collections.Counter) -> str:
    return f"{count['converted lines'] / count['framework lines']:.0%}" if count["framework lines"] else "-"


_COLUMNS = ["files", "exit 0", "with leftover", "silent", "leftover statements", "timeout", "refused"]

if __name__ == "__main__":
    raise SystemExit(main())
