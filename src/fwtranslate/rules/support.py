"""Support code: helper functions/layers a template may call when the target framework has no
one-call equivalent (e.g. max-pooling with PyTorch's -inf padding and ceil_mode).

They live as ordinary, testable Python in ``rules/<direction>/support*.py`` and are copied into
the output, only those used (with what they depend on), so the output never imports fwtranslate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst


@dataclass
class SupportLibrary:
    definitions: dict[str, cst.BaseStatement] = field(default_factory=dict)  # in file order
    depends: dict[str, frozenset[str]] = field(default_factory=dict)
    imports: list[cst.SimpleStatementLine] = field(default_factory=list)

    @classmethod
    def from_files(cls, paths: list[Path]) -> "SupportLibrary":
        lib = cls()
        for path in paths:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
            for stmt in module.body:
                if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                    if stmt.name.value in lib.definitions:
                        raise ValueError(f"{path}: support name {stmt.name.value!r} is defined twice")
                    lib.definitions[stmt.name.value] = stmt.with_changes(leading_lines=[])
                elif isinstance(stmt, cst.SimpleStatementLine) and all(
                        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
                    lib.imports.append(stmt)
        names = set(lib.definitions)
        for name, node in lib.definitions.items():
            lib.depends[name] = frozenset(_names(node) & names - {name})
        return lib

    def names_used(self, node: cst.CSTNode) -> set[str]:
        return _names(node) & set(self.definitions)

    def closure(self, names: set[str]) -> list[str]:
        todo, seen = list(names), set()
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self.depends.get(n, ()))
        return [n for n in self.definitions if n in seen]  # file order


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(_V())
    return found
