"""What the Keras -> PyTorch output is like: how much of it is copied support code, how many
builders still run the functional tracer, how many Lazy modules it creates.

For each Keras sample (``samples/tf/*.py``) and each Keras file of the public corpus (the
``tf2pt`` entries of ``../shared/corpus/public.json``, fetched into ``.corpus/`` when missing),
the file is translated alone (``fwtranslate.translate_file(path, "torch")``, the single-file
output: support helpers inline) and the output is measured with ``ast``, whatever form it takes:

- input lines, output lines (physical lines, blank and comment lines included);
- support lines: the lines of the output's top-level statements (decorators included) that
  define a name that one of ``rules/tf_to_torch/support_*.py`` defines at its top level (the
  names are read from those files with ``ast``, never listed here), unless the input file
  itself defines that name at its top level (then it is the user's code); and their share of
  the output lines. A support module imported instead of inlined would count 0 lines here;
- tracer fallbacks: the functions of the output (at any depth, support definitions excluded)
  whose own body refers to ``FunctionalModel`` or ``KerasInput`` (a name or an attribute of that
  name), plus classes that derive from ``FunctionalModel``: builders still translated to the
  tracer, not to an ``nn.Module`` class (a function that uses ``KerasInput`` only, as a
  ``keras.Sequential`` with a ``keras.Input`` does, is listed with "(KerasInput only)");
- Lazy modules: calls of ``nn.Lazy*`` (any ``X.LazyName(...)`` or a bare ``LazyName(...)``,
  the ``LazyModuleMixin`` excluded) anywhere in the output; and, as a second figure, calls
  outside the support definitions of the output's own classes that derive from
  ``LazyModuleMixin`` (look-alike modules whose weights are created on the first call);
- ``nn.Module`` classes the output defines outside the support code (the lifted form).

Medians over all files and over each set. ``--json OUT`` writes the rows and the medians.

    .venv/bin/python benchmarks/torch_output.py [--json out.json] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, corpus_files, info_lines, md_table, write_section

SAMPLES = REPO / "samples" / "tf"
SUPPORT_DIR = REPO / "rules" / "tf_to_torch"
TRACER_NAMES = frozenset({"FunctionalModel", "KerasInput"})


def defined_names(stmt: ast.stmt) -> set[str]:
    """The names a top-level statement binds (def, class, assignment, annotated assignment)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    names = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
    return names


def support_names(folder: Path = SUPPORT_DIR) -> set[str]:
    """Every name defined at the top level of the direction's support files."""
    names: set[str] = set()
    for file in sorted(folder.glob("support_*.py")):
        for stmt in ast.parse(file.read_text()).body:
            names |= defined_names(stmt)
    return names


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno] + [d.lineno for d in decorators])


def _refers_to(node: ast.AST, names: frozenset[str] | set[str]) -> bool:
    return (isinstance(node, ast.Name) and node.id in names) or (isinstance(node, ast.Attribute) and node.attr in names)


def _own_nodes(fn: ast.AST):
    """The nodes of a function's body, not descending into nested functions or classes."""
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _qualified_defs(body: list[ast.stmt], prefix: str = ""):
    """(qualified name, node) of every function and class, at any depth."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = prefix + stmt.name
            yield name, stmt
            yield from _qualified_defs(stmt.body, name + ".")
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    yield from _qualified_defs([s for s in inner if isinstance(s, ast.stmt)], prefix)
                    for handler in inner:
                        if isinstance(handler, ast.ExceptHandler):
                            yield from _qualified_defs(handler.body, prefix)


def _bases_refer(cls: ast.ClassDef, names: frozenset[str] | set[str]) -> bool:
    return any(_refers_to(node, names) for base in cls.bases for node in ast.walk(base))


def measure_output(source: str, code: str, support: set[str]) -> dict:
    """The figures of one translation (``source`` the input, ``code`` the output)."""
    user_names = set().union(*(defined_names(s) for s in ast.parse(source).body))
    tree = ast.parse(code)
    support_stmts, other_stmts = [], []
    support_lines: set[int] = set()
    copied: list[str] = []
    for stmt in tree.body:
        names = defined_names(stmt)
        if names and names <= support and not names & user_names:
            support_stmts.append(stmt)
            support_lines.update(range(_first_line(stmt), (stmt.end_lineno or stmt.lineno) + 1))
            copied += sorted(names)
        else:
            other_stmts.append(stmt)
    lazy = sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (name := _call_name(node))
        and name.startswith("Lazy")
        and name[4:5].isupper()
        and not name.endswith("Mixin")
    )
    lazy_classes = {
        s.name
        for s in tree.body
        if isinstance(s, ast.ClassDef) and _bases_refer(s, {"LazyModuleMixin"})  # a support look-alike, mostly
    }
    lazy_lookalikes = sum(
        1
        for stmt in other_stmts
        for node in ast.walk(stmt)
        if isinstance(node, ast.Call) and _call_name(node) in lazy_classes
    )
    fallbacks: list[str] = []
    modules: list[str] = []
    for name, node in _qualified_defs(other_stmts):
        if isinstance(node, ast.ClassDef):
            if _bases_refer(node, TRACER_NAMES):
                fallbacks.append(name)
            if _bases_refer(node, {"Module"}):
                modules.append(name)
        else:
            used = {
                n.id if isinstance(n, ast.Name) else n.attr for n in _own_nodes(node) if _refers_to(n, TRACER_NAMES)
            }
            if used:  # "(KerasInput only)": an input declared, e.g. in a Sequential, and no replayed graph
                fallbacks.append(name if "FunctionalModel" in used else f"{name} ({', '.join(sorted(used))} only)")
    in_lines, out_lines = _count_lines(source), _count_lines(code)
    return {
        "input_lines": in_lines,
        "output_lines": out_lines,
        "support_lines": len(support_lines),
        "support_share": len(support_lines) / out_lines if out_lines else 0.0,
        "support_defs": copied,
        "tracer_fallbacks": len(fallbacks),
        "fallback_defs": fallbacks,
        "lazy_modules": lazy,
        "lazy_lookalikes": lazy_lookalikes,
        "module_classes": modules,
    }


def _count_lines(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


def files() -> list[tuple[str, str, Path]]:
    """(set, name, path): the Keras samples, then the Keras files of the public corpus."""
    out = [("sample", f"samples/tf/{p.name}", p) for p in sorted(SAMPLES.glob("*.py"))]
    out += [("corpus", name, path) for name, path in corpus_files("tf2pt")]
    return out


def run() -> tuple[list[dict], list[tuple[str, str]]]:
    import fwtranslate

    support = support_names()
    rows, crashes = [], []
    for kind, name, path in files():
        try:
            result = fwtranslate.translate_file(path, "torch")
            row = {"set": kind, "file": name, **measure_output(result.source, result.code, support)}
            row["errors"] = sum(d.severity == "error" for d in result.diagnostics)
            rows.append(row)
        except Exception as exc:  # noqa: BLE001 - a crash is reported, then the run goes on
            traceback.print_exc()
            crashes.append((name, f"{type(exc).__name__}: {exc}"))
    return rows, crashes


FIGURES = (
    "input_lines",
    "output_lines",
    "support_lines",
    "support_share",
    "tracer_fallbacks",
    "lazy_modules",
    "lazy_lookalikes",
)


def medians(rows: list[dict]) -> dict[str, dict[str, float]]:
    out = {}
    for group in ("all", "sample", "corpus"):
        chosen = [r for r in rows if group == "all" or r["set"] == group]
        if chosen:
            out[group] = {k: statistics.median(r[k] for r in chosen) for k in FIGURES}
            out[group]["files"] = len(chosen)
    return out


def _fmt(key: str, value: float) -> str:
    return f"{value:.1%}" if key == "support_share" else f"{value:g}"


def report(rows: list[dict], crashes: list[tuple[str, str]]) -> str:
    header = [
        "file",
        "lines in",
        "lines out",
        "support lines",
        "support share",
        "tracer fallbacks",
        "nn.Lazy*",
        "lazy look-alikes",
        "nn.Module classes",
        "errors",
    ]
    table = [
        [
            r["file"],
            r["input_lines"],
            r["output_lines"],
            r["support_lines"],
            f"{r['support_share']:.1%}",
            r["tracer_fallbacks"],
            r["lazy_modules"],
            r["lazy_lookalikes"],
            len(r["module_classes"]),
            r["errors"],
        ]
        for r in rows
    ]
    out = md_table(header, table)
    med = medians(rows)
    out += ["", "Medians:", ""]
    out += md_table(
        ["files", "n", *(k.replace("_", " ") for k in FIGURES)],
        [[group, m["files"], *(_fmt(k, m[k]) for k in FIGURES)] for group, m in med.items()],
    )
    total_fallbacks = sum(r["tracer_fallbacks"] for r in rows)
    out += [
        "",
        f"- tracer fallbacks: {total_fallbacks} in {sum(bool(r['tracer_fallbacks']) for r in rows)} of {len(rows)} files",
        (
            f"- nn.Lazy* constructors: {sum(r['lazy_modules'] for r in rows)} in all; "
            f"lazy look-alike calls: {sum(r['lazy_lookalikes'] for r in rows)}"
        ),
    ]
    for r in rows:
        if r["fallback_defs"]:
            out.append(f"- {r['file']}: tracer in {', '.join(f'`{d}`' for d in r['fallback_defs'])}")
    for name, err in crashes:
        out.append(f"- CRASH {name}: {err}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the rows and the medians as JSON")
    ap.add_argument("--write", type=Path, metavar="DOC", help="update the torch_output section of DOC")
    args = ap.parse_args()
    rows, crashes = run()
    text = "\n".join(info_lines()) + "\n\n" + report(rows, crashes)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "medians": medians(rows), "crashes": crashes}, indent=1))
    if args.write:
        write_section(args.write, "torch_output", text)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
