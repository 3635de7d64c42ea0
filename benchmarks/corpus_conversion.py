"""How much of real PyTorch model code fwtranslate converts to Keras (the ``pt2tf`` corpus).

For every ``pt2tf`` file of the public corpus (fetched into ``.corpus/`` when missing), the file
is translated with ``fwtranslate.translate(src, to="tf")`` and measured here, independently of
the translator's own ``stats``:

- torch names: the names a file's imports bind to ``torch`` or a ``torch.*`` module
  (``import torch`` -> ``torch``; ``import torch.nn as nn`` -> ``nn``; ``from torch import nn`` ->
  ``nn``; ``from torch.nn import Conv2d as C`` -> ``C``), found with ``ast`` in every
  import statement of the file (including imports inside functions).
- a torch line: a physical line holding a NAME token (``tokenize``, so comments and strings never
  count; an attribute after a dot, ``self.nn``, is not a use) that is a torch name. Import lines
  count too: an output that still imports torch still depends on it.
- torch lines in: torch lines of the input (with the input's imports).
  torch lines left: torch lines of the output (with the output's own imports, plus the input's
  torch names that no output import rebinds: a dangling ``torch.x`` is not converted), plus the
  first line of every statement marked ``# fwtranslate: unconverted``.
  converted share = 1 - left / in.
- torch refs in / left: the same count made on name tokens outside import statements instead of
  lines (the translator may join a multi-line call into one line, which flatters the line count).
- parses: ``ast.parse`` accepts the output. names kept: every top-level class/function name of
  the input is still bound at the output's top level (def, class, assignment or import).
- diagnostics by severity, and the most frequent untranslated API names: diagnostics with code
  ``no-rule``, whose message starts with the qualified name.

usage: python benchmarks/corpus_conversion.py [--corpus-dir DIR] [--write docs/benchmarks.md]
Exits non-zero only when the translator (or this script) crashes on a file.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tokenize
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fwtranslate
from common import corpus_files, info_lines, md_table, write_section

MARKER = "# fwtranslate: unconverted"
ROOT_MODULES = ("torch",)  # the source framework; --direction tf2pt: keras / tensorflow / tf_keras
DIRECTIONS = {"pt2tf": (("torch",), "tf", "torch"), "tf2pt": (("keras", "tensorflow", "tf_keras"), "torch", "tf")}
TARGET = "tf"
SOURCE = "torch"


def _is_torch(module: str | None) -> bool:
    return bool(module) and any(module == m or module.startswith(m + ".") for m in ROOT_MODULES)


def imported_names(tree: ast.AST) -> tuple[set[str], set[str], bool]:
    """(names bound to torch modules/objects by the imports in ``tree``, names bound by other
    imports, whether a ``from torch... import *`` was seen: its names cannot be known without
    importing torch)."""
    torch, other, star = set(), set(), False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                (torch if _is_torch(a.name) else other).add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            is_torch = node.level == 0 and _is_torch(node.module)
            for a in node.names:
                if a.name == "*":
                    star |= is_torch
                else:
                    (torch if is_torch else other).add(a.asname or a.name)
    return torch, other, star


def uses(code: str, names: set[str]) -> tuple[set[int], int]:
    """(lines holding a use of ``names``, number of such name tokens outside import statements)."""
    lines, refs, prev, in_import = set(), 0, None, False
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if prev is None or prev.type == tokenize.NEWLINE:  # first token of a logical line
            in_import = tok.string in ("import", "from")
        if tok.type == tokenize.NAME and tok.string in names and not (prev and prev.string == "."):
            lines.add(tok.start[0])
            refs += not in_import
        prev = tok
    return lines, refs


def marked_lines(code: str) -> set[int]:
    """First line of each statement preceded by a ``# fwtranslate: unconverted`` comment block."""
    lines, out = code.splitlines(), set()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(MARKER):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("#"):
                j += 1
            out.add(j + 1)
    return out


def top_level_defs(tree: ast.Module) -> set[str]:
    return {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}


def top_level_bound(tree: ast.Module) -> set[str]:
    """Names bound at module level, also inside top-level if/try blocks."""
    bound, todo = set(), list(tree.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            bound.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in n.targets if isinstance(n, ast.Assign) else [n.target]:
                bound |= {x.id for x in ast.walk(t) if isinstance(x, ast.Name)}
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif isinstance(n, (ast.If, ast.Try)):
            todo += n.body + n.orelse + getattr(n, "finalbody", [])
            for h in getattr(n, "handlers", []):
                todo += h.body
    return bound


def measure(name: str, path: Path, untranslated: Counter) -> dict:
    src = path.read_text(encoding="utf-8")
    row = {"file": name, "lines": len(src.splitlines())}
    in_tree = ast.parse(src)
    in_names, _, star = imported_names(in_tree)
    in_lines, row["refs_in"] = uses(src, in_names)
    row["in"] = len(in_lines)
    row["star"] = star
    result = fwtranslate.translate(src, to=TARGET, path=name)
    out = result.code
    try:
        out_tree = ast.parse(out)
        row["parses"] = True
    except SyntaxError:
        out_tree, row["parses"] = None, False
    if out_tree is not None:
        out_names, out_other, star_out = imported_names(out_tree)
        row["star"] |= star_out
        # a torch name of the input the output no longer imports, yet still uses, is left too
        out_names |= in_names - out_other
        left_lines, row["refs_left"] = uses(out, out_names)
        missing = top_level_defs(in_tree) - top_level_bound(out_tree)
    else:  # cannot know the output's imports: assume it still uses the input's torch names
        left_lines, row["refs_left"] = uses(out, in_names) if _tokenizes(out) else (set(), 0)
        missing = top_level_defs(in_tree)
    row["left"] = len(left_lines | marked_lines(out))
    row["missing"] = sorted(missing)
    row["names_kept"] = f"{len(top_level_defs(in_tree)) - len(missing)}/{len(top_level_defs(in_tree))}"
    sev = Counter(d.severity for d in result.diagnostics)
    row["errors"], row["warnings"], row["infos"] = sev["error"], sev["warning"], sev["info"]
    row["layout_notes"] = sum(d.code == "layout" for d in result.diagnostics)  # layers left in the source's layout
    for d in result.diagnostics:
        if d.code == "no-rule":
            untranslated[d.message.split()[0]] += 1
    return row


def _tokenizes(code: str) -> bool:
    try:
        list(tokenize.generate_tokens(io.StringIO(code).readline))
        return True
    except (tokenize.TokenError, SyntaxError):
        return False


def share(done_in: int, left: int) -> float:
    return 1.0 if done_in == 0 else 1 - left / done_in


def report(rows: list[dict], crashes: list[tuple[str, str]], untranslated: Counter) -> str:
    out = [f"Per file ({SOURCE} lines/refs: see the definitions in `benchmarks/corpus_conversion.py`):", ""]
    header = [
        "file",
        "lines",
        f"{SOURCE} lines in",
        f"{SOURCE} lines left",
        "converted share",
        f"{SOURCE} refs in",
        f"{SOURCE} refs left",
        "parses",
        "names kept",
        "errors",
        "warnings",
    ]
    table = [
        [
            r["file"],
            r["lines"],
            r["in"],
            r["left"],
            f"{share(r['in'], r['left']):.1%}",
            r["refs_in"],
            r["refs_left"],
            "yes" if r["parses"] else "**no**",
            r["names_kept"],
            r["errors"],
            r["warnings"],
        ]
        for r in rows
    ]
    tot = {
        k: sum(r[k] for r in rows)
        for k in ("lines", "in", "left", "refs_in", "refs_left", "errors", "warnings", "infos")
    }
    kept = sum(int(r["names_kept"].split("/")[0]) for r in rows)
    defs = sum(int(r["names_kept"].split("/")[1]) for r in rows)
    table.append(
        [
            "**total**",
            tot["lines"],
            tot["in"],
            tot["left"],
            f"{share(tot['in'], tot['left']):.1%}",
            tot["refs_in"],
            tot["refs_left"],
            f"{sum(r['parses'] for r in rows)}/{len(rows)}",
            f"{kept}/{defs}",
            tot["errors"],
            tot["warnings"],
        ]
    )
    out += md_table(header, table)
    mean = sum(share(r["in"], r["left"]) for r in rows) / len(rows) if rows else 0.0
    out += [
        "",
        f"- files: {len(rows)} translated, {len(crashes)} crashed",
        (
            f"- overall converted share (sum-based, lines): {share(tot['in'], tot['left']):.1%} "
            f"({tot['in'] - tot['left']} of {tot['in']} torch lines)"
        ),
        f"- overall converted share (mean per file, lines): {mean:.1%}",
        f"- overall converted share (sum-based, name tokens): {share(tot['refs_in'], tot['refs_left']):.1%}",
        f"- diagnostics: {tot['errors']} errors, {tot['warnings']} warnings, {tot['infos']} infos",
    ]
    for r in rows:
        if r["missing"]:
            out.append(f"- {r['file']}: top-level names lost: {', '.join(r['missing'])}")
        if r["star"]:
            out.append(f"- {r['file']}: has a `from torch... import *` (its names are not counted)")
    for name, err in crashes:
        out.append(f"- CRASH {name}: {err}")
    out += [
        "",
        (
            f"Top {min(30, len(untranslated))} untranslated API names (`no-rule` diagnostics, "
            f"{sum(untranslated.values())} in all, {len(untranslated)} distinct):"
        ),
        "",
    ]
    out += md_table(["API", "count"], [[f"`{n}`", c] for n, c in untranslated.most_common(30)])
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus-dir", type=Path, help="where the corpus is (or is fetched); default <repo>/.corpus")
    ap.add_argument("--write", type=Path, metavar="DOC", help="update the corpus_conversion section of DOC")
    ap.add_argument(
        "--direction",
        choices=sorted(DIRECTIONS),
        default="pt2tf",
        help="pt2tf: the PyTorch files (source: torch); tf2pt: the Keras files (source: keras, tensorflow, tf_keras)",
    )
    args = ap.parse_args()
    global ROOT_MODULES, TARGET, SOURCE
    ROOT_MODULES, TARGET, SOURCE = DIRECTIONS[args.direction]
    rows, crashes, untranslated = [], [], Counter()
    for name, path in corpus_files(args.direction, args.corpus_dir):
        try:
            rows.append(measure(name, path, untranslated))
        except Exception as exc:  # noqa: BLE001 - a crash is reported, then the run goes on
            traceback.print_exc()
            crashes.append((name, f"{type(exc).__name__}: {exc}"))
    text = "\n".join(info_lines()) + "\n\n" + report(rows, crashes, untranslated)
    print(text)
    if args.write:
        write_section(args.write, "corpus_conversion" if args.direction == "pt2tf" else "corpus_conversion_tf2pt", text)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
