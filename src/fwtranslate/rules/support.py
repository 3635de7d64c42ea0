"""Support code: helper functions/layers a template may call when the target framework has no
one-call equivalent (e.g. max-pooling with PyTorch's -inf padding and ceil_mode).

They live as ordinary, testable Python in ``rules/<direction>/support*.py`` and are copied into
the output, only those used (with what they depend on), so the output never imports fwtranslate.
Names and dependencies come from CPython's parser; the LibCST trees that get copied are parsed
only when a translation first needs one.

A definition may use one of another support file of the same folder: that file imports it by
name (``from support_core import keras_initializer``), so that each file imports, runs and lints
on its own (with its folder on ``sys.path``). Such an import is not copied: the definition it
names is, with its own file's imports.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst


@dataclass
class SupportLibrary:
    files: dict[str, Path] = field(default_factory=dict)  # definition name -> its file (file order)
    depends: dict[str, frozenset[str]] = field(default_factory=dict)
    import_of: dict[str, str] = field(default_factory=dict)  # bound name -> its import line
    names_of: dict[str, set[str]] = field(default_factory=dict)  # definition -> names it uses
    bases_of: dict[str, list[str]] = field(default_factory=dict)  # class -> its bases, as written

    @classmethod
    def from_files(cls, paths: list[Path]) -> SupportLibrary:
        lib = cls()
        siblings = {path.stem: path for path in paths}
        borrowed: list[tuple[Path, str, Path]] = []  # (file, name, the sibling it imports it from)
        for path in paths:
            source = path.read_text(encoding="utf-8")
            for stmt in ast.parse(source, str(path)).body:
                name = _defined_name(stmt)
                if name is not None:
                    if name in lib.files:
                        raise ValueError(f"{path}: support name {name!r} is defined twice")
                    lib.files[name] = path
                    lib.names_of[name] = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} - {name}
                    if isinstance(stmt, ast.ClassDef):
                        lib.bases_of[name] = [ast.unparse(b) for b in stmt.bases]
                elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module in siblings:
                    for alias in stmt.names:  # a sibling's definition: copied itself, never imported
                        if alias.asname not in (None, alias.name):
                            raise ValueError(f"{path}: support name {alias.name!r} imported under another name")
                        borrowed.append((path, alias.name, siblings[stmt.module]))
                elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    line = ast.get_source_segment(source, stmt) or ""
                    for alias in stmt.names:
                        lib.import_of[(alias.asname or alias.name).split(".", 1)[0]] = line
        for path, name, sibling in borrowed:
            if lib.files.get(name) != sibling:
                raise ValueError(f"{path}: {sibling.name} defines no support name {name!r}")
        for name, used in lib.names_of.items():
            lib.depends[name] = frozenset(used & set(lib.files) - {name})
        return lib

    def definition(self, name: str) -> cst.SimpleStatementLine | cst.BaseCompoundStatement:
        """The CST of one definition: only its own file is parsed (once), since parsing all the
        support files costs seconds."""
        return _parse_definitions(self.files[name])[name]

    def names_used(self, source: str) -> set[str]:
        """The support definitions an expression (a template's source) refers to."""
        return {
            n.id for n in ast.walk(ast.parse(source, mode="eval")) if isinstance(n, ast.Name) and n.id in self.files
        }

    def imports_for(self, names: list[str]) -> set[str]:
        """The import lines the given definitions need (those whose bound names they use)."""
        used: set[str] = set()
        for n in names:
            used |= self.names_of[n]
        return {line for bound, line in self.import_of.items() if bound in used}

    def closure(self, names: set[str]) -> list[str]:
        todo, seen = list(names), set()
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self.depends.get(n, ()))
        return [n for n in self.files if n in seen]  # file order


def _defined_name(stmt: ast.stmt) -> str | None:
    """The name a support file's top-level statement defines: a function, a class, or a
    constant (``_TABLE = {...}``) that definitions use."""
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return stmt.name
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return None


@functools.cache
def _parse_definitions(path: Path) -> dict[str, cst.SimpleStatementLine | cst.BaseCompoundStatement]:
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    out: dict[str, cst.SimpleStatementLine | cst.BaseCompoundStatement] = {}
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            out[stmt.name.value] = stmt.with_changes(leading_lines=[])
        elif (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Assign)
            and len(stmt.body[0].targets) == 1
            and isinstance(stmt.body[0].targets[0].target, cst.Name)
        ):
            out[stmt.body[0].targets[0].target.value] = stmt.with_changes(leading_lines=[])
    return out
