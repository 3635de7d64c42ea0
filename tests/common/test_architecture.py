"""The package's structure, read from its source (``ast``, nothing imported but directions.py).

- No import cycle among the fwtranslate modules. An import inside a function counts like one at
  module level: deferring an import hides a cycle from the interpreter, not from the reader (the
  two modules still cannot be understood, changed or tested apart). Imports under
  ``if TYPE_CHECKING:`` do not count (they never run). A module importing its package's
  ``__init__`` only because it lives there is no edge (Python does that for every submodule).
  One dependency is named rather than imported, on purpose: ``Direction.passes`` resolves
  ``fwtranslate.passes.<passes_attr>`` on use, since the passes read ``ctx.direction``.
- No module imports another's private name (``from .x import _y``, ``x._y`` on an imported
  module): what a module shares, it names without an underscore.
- The direction names ("torch_to_tf", "tf_to_torch") are written in directions.py only; the rest
  of the package asks the registry (``direction_for(to=...)``, ``Direction.by_name(...)``).
  Docstrings may name them (rules/<name>/ paths), string literals may not.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from fwtranslate.directions import ALL, BY_NAME, TARGETS, Direction, direction_for

PACKAGE = "fwtranslate"
SRC = Path(__file__).resolve().parents[2] / "src"

# Cycles accepted for now (none): each entry must still be a cycle, so that it is removed once broken.
KNOWN_CYCLES: set[frozenset[str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the fwtranslate module imported
    names: tuple[str, ...]  # for ``from target import a, b``; () for ``import target``
    line: int
    in_function: bool


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package)."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _parse(module: str) -> ast.Module:
    path = MODULES[module][0]
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _from_target(module: str, node: ast.ImportFrom) -> str:
    """The module a ``from ... import`` statement of ``module`` names."""
    here = module.split(".") if MODULES[module][1] else module.split(".")[:-1]
    if not node.level:
        return node.module or ""
    base = here[: len(here) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, tree: ast.Module | None = None) -> list[Import]:
    """The fwtranslate modules ``module`` imports (its source, or ``tree`` instead)."""
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit(stmt, in_function)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        found.append(Import(module, _known(alias.name), (), child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                target = _from_target(module, child)
                if target.split(".")[0] != PACKAGE:
                    continue
                plain = []
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    if sub in MODULES:  # ``from . import transfer``: the submodule itself
                        found.append(Import(module, sub, (), child.lineno, in_function))
                    else:
                        plain.append(alias.name)
                if plain:
                    found.append(Import(module, _known(target), tuple(plain), child.lineno, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree or _parse(module), False)
    return found


def _known(name: str) -> str:
    """The module that ``name`` (``pkg.mod.attr``) imports."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


IMPORTS = {m: _imports(m) for m in MODULES}


def _graph() -> dict[str, set[str]]:
    return {m: {i.target for i in found if i.target != m} for m, found in IMPORTS.items()}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(frozenset(component))
    return out


def _describe(cycle: frozenset[str]) -> str:
    lines = [", ".join(sorted(cycle))]
    for module in sorted(cycle):
        for i in IMPORTS[module]:
            if i.target in cycle and i.target != module:
                where = "in a function" if i.in_function else "at module level"
                lines.append(f"  {module}:{i.line} imports {i.target} ({where})")
    return "\n".join(lines)


def test_the_graph_sees_the_package():
    graph = _graph()
    assert len(graph) > 50 and "fwtranslate.directions" in graph
    assert "fwtranslate.passes.common.context" in graph["fwtranslate.pipeline"]
    assert "fwtranslate.verify.isolation" in graph["fwtranslate.verify.core"]  # a function-level edge


def test_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = [c for c in _cycles(_graph()) if c not in KNOWN_CYCLES]
    assert not cycles, "import cycles:\n" + "\n".join(map(_describe, cycles))


def test_known_cycles_still_exist():
    """A known cycle that is broken leaves KNOWN_CYCLES (and this test then checks the rest)."""
    gone = KNOWN_CYCLES - set(_cycles(_graph()))
    assert not gone, f"no longer cycles, remove from KNOWN_CYCLES: {sorted(map(sorted, gone))}"


def test_no_module_level_cycles_at_all():
    module_level = {m: {i.target for i in found if i.target != m and not i.in_function} for m, found in IMPORTS.items()}
    assert _cycles(module_level) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_names(module: str, tree: ast.Module) -> dict[str, str]:
    """Local name -> the other fwtranslate module bound to it (``from . import registry``,
    ``import fwtranslate.x as x``)."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update((a.asname, a.name) for a in node.names if a.asname and a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(module, node)
            out.update(
                (a.asname or a.name, f"{target}.{a.name}") for a in node.names if f"{target}.{a.name}" in MODULES
            )
    return {local: target for local, target in out.items() if target != module}


def _private_uses(module: str, tree: ast.Module) -> list[str]:
    """``from .x import _y`` and ``x._y`` (``x`` an imported fwtranslate module) in ``module``."""
    bad = [
        f"{module}:{i.line}: from {i.target} import {n}"
        for i in _imports(module, tree)
        if i.target != module
        for n in i.names
        if _private(n)
    ]
    bound = _module_names(module, tree)
    bad += [
        f"{module}:{node.lineno}: {bound[node.value.id]}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
        and _private(node.attr)
    ]
    return bad


def test_no_private_names_of_other_modules():
    bad = [use for module in MODULES for use in _private_uses(module, _parse(module))]
    assert not bad, "private names of another fwtranslate module used:\n" + "\n".join(bad)


def test_private_uses_are_found():
    source = (
        "from . import transfer\nfrom .transfer import _run, run_step\nfrom . import registry as r\n"
        "def f():\n    return transfer._check(), r._table, transfer.__name__\n"
    )
    uses = _private_uses("fwtranslate.weights.from_keras", ast.parse(source))
    assert sorted(u.split(": ", 1)[1] for u in uses) == [
        "from fwtranslate.weights.transfer import _run",
        "fwtranslate.weights.registry._table",
        "fwtranslate.weights.transfer._check",
    ]


# --- directions ---------------------------------------------------------------------------------
def _docstrings(tree: ast.Module) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def test_direction_names_are_written_in_directions_py_only():
    names = set(BY_NAME) | {"torch_to_tf", "tf_to_torch"}
    bad = []
    for module in MODULES:
        if module == "fwtranslate.directions":
            continue
        tree = _parse(module)
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and any(name in node.value for name in names)
            ):
                bad.append(f"{module}:{node.lineno}: {node.value[:60]!r}")
    assert not bad, "direction names outside directions.py (use the Direction registry):\n" + "\n".join(bad)


def test_no_other_direction_tables():
    """The representations the registry replaced stay gone."""
    gone = {
        "fwtranslate.cli": ("_DIRECTION_OF",),
        "fwtranslate.roundtrip": ("_OPPOSITE",),
        "fwtranslate.rules.loader": ("DIRECTIONS",),
        "fwtranslate.passes": ("PASSES_BY_DIRECTION",),
        "fwtranslate.verify.direction": ("TORCH_TO_TF", "TF_TO_TORCH"),
    }
    bad = []
    for module, names in gone.items():
        for node in _parse(module).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, ast.AnnAssign) else [])
            )
            for target in targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name) and n.id in names:
                        bad.append(f"{module}: {n.id}")
    assert not bad


@pytest.mark.parametrize("direction", ALL, ids=lambda d: d.name)
def test_the_registry_is_consistent(direction: Direction):
    from fwtranslate.rules.loader import builtin_rules_dir

    assert Direction.by_name(direction.name) is direction is BY_NAME[direction.name]
    assert direction_for(direction.target) is direction
    assert direction.opposite is not direction and direction.opposite.opposite is direction
    assert (direction.source, direction.target) == (direction.opposite.target, direction.opposite.source)
    assert (builtin_rules_dir() / direction.rules_folder).is_dir()
    assert direction.passes and all(isinstance(p, type) for p in direction.passes)
    assert sorted(TARGETS) == sorted(d.target for d in ALL)


def test_unknown_names_say_what_is_known():
    with pytest.raises(ValueError, match="torch_to_tf"):
        Direction.by_name("torch_to_jax")
    with pytest.raises(ValueError, match="tf, torch"):
        direction_for("jax")


def test_load_rules_takes_a_name_or_a_direction():
    from fwtranslate.rules import load_rules

    tf = direction_for("tf")
    assert load_rules(tf.name) is load_rules(tf)
    assert load_rules(tf).direction == tf.name
