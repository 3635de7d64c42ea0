"""The modules a file inside a package needs when it is imported, and a copy of just those.

One model file of a big package (torchvision's ``models/resnet.py`` imports ``._api``,
``._utils``, ``..transforms._presets``, ``..utils``) can be translated and verified without the
rest of the package: ``torchvision/__init__.py`` alone imports datasets, video I/O and compiled
operators that no model needs. ``closure(file)`` follows the module-level imports that stay
inside the file's own top-level package (imports inside functions run later, if ever, and are
not followed). A package's ``__init__.py`` is kept only for the names some module takes from
it, and then only its statements that bind those names; a package nobody takes a name from gets
an empty ``__init__.py``. ``stage(closure, dest)`` writes that copy, with the same dotted
names, so relative imports keep working.

Only ``ast`` is used: nothing is imported or executed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

PRUNED_HEADER = (
    "# Staged by fwtranslate: only the statements of this package's __init__.py that bind\n"
    "# the names other staged modules import from it (see fwtranslate.closure).\n"
)
EMPTIED_HEADER = (
    "# Staged by fwtranslate: this package's __init__.py is not needed by the staged\n"
    "# modules (see fwtranslate.closure).\n"
)


class ClosureError(Exception):
    """The file is not inside a package, or a module of the closure does not parse."""


@dataclass
class Closure:
    """``root`` is the folder that holds the top-level package; module names are dotted."""

    root: Path
    start: str  # the module asked for
    whole: set[str] = field(default_factory=set)  # modules needed with all their code
    names: dict[str, set[str]] = field(default_factory=dict)  # package -> names taken from its __init__
    packages: set[str] = field(default_factory=set)  # every package on the way to a staged module

    def files(self) -> dict[str, str]:
        """{path relative to root: text} of the staged copy."""
        out: dict[str, str] = {}
        for package in sorted(self.packages):
            rel = _rel(package, is_package=True)
            if package in self.whole:
                out[rel] = (self.root / rel).read_text(encoding="utf-8")
            elif package in self.names:
                out[rel] = PRUNED_HEADER + _pruned_init(package, self.names[package], self)
            else:
                out[rel] = EMPTIED_HEADER
        for module in sorted(self.whole - self.packages):
            rel = _rel(module, is_package=False)
            out[rel] = (self.root / rel).read_text(encoding="utf-8")
        return out

    @property
    def modules(self) -> list[str]:
        """The staged modules with code of their own (not the emptied ``__init__.py`` files)."""
        return sorted(self.whole | set(self.names))


def package_of(path: Path) -> tuple[Path, str]:
    """(root folder, dotted module name) of a file inside a package."""
    path = Path(path).resolve()
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) < 2:
        raise ClosureError(f"{path}: not inside a package (no __init__.py beside it)")
    if parts[-1] == "__init__":
        parts.pop()
    return folder, ".".join(parts)


def closure(path: Path) -> Closure:
    """What importing ``path`` (a module of a package) executes inside its own package."""
    root, start = package_of(path)
    found = Closure(root, start)
    try:
        _Walker(found).need_module(start)
    except (RecursionError, MemoryError):  # deep trees in ast.walk/literal_eval, long import chains
        raise ClosureError(f"{path}: the package's modules are nested too deeply to follow") from None
    return found


def stage(found: Closure, dest: Path) -> list[Path]:
    """Write the closure under ``dest`` (``dest/torchvision/models/resnet.py``...); the paths written."""
    written = []
    for rel, text in found.files().items():
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


class _Walker:
    def __init__(self, found: Closure) -> None:
        self.found = found
        self.top = found.start.split(".")[0]
        self._trees: dict[str, ast.Module] = {}

    # -- where modules are
    def _file(self, module: str) -> Path | None:
        base = self.found.root.joinpath(*module.split("."))
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
        return base.with_suffix(".py") if base.with_suffix(".py").is_file() else None

    def _is_package(self, module: str) -> bool:
        return self.found.root.joinpath(*module.split("."), "__init__.py").is_file()

    def tree(self, module: str) -> ast.Module:
        if module not in self._trees:
            file = self._file(module)
            try:
                self._trees[module] = ast.parse(file.read_text(encoding="utf-8"), str(file))  # type: ignore[union-attr]
            except (SyntaxError, UnicodeDecodeError) as exc:
                raise ClosureError(f"{file}: cannot parse: {exc}") from None
            except (RecursionError, MemoryError, ValueError) as exc:  # pathological nesting, null bytes
                what = "null bytes" if isinstance(exc, ValueError) else "code nested too deeply"
                raise ClosureError(f"{file}: cannot parse: {what}") from None
        return self._trees[module]

    # -- requests
    def need_module(self, module: str) -> None:
        """All of ``module``'s code runs (and its packages' __init__ files)."""
        if module in self.found.whole or self._file(module) is None:
            return
        self.found.whole.add(module)
        self._packages_of(module)
        package = module if self._is_package(module) else module.rpartition(".")[0]
        for stmt in module_level(self.tree(module).body):
            self._follow(stmt, package)

    def need_name(self, package: str, name: str) -> None:
        """``from package import name`` where ``name`` is not a submodule."""
        self._packages_of(package + ".x")
        if package in self.found.whole or name in self.found.names.get(package, set()):
            return
        self.found.names.setdefault(package, set()).add(name)
        binding = _binding_statements(self.tree(package).body, package, name, self)
        if binding is None:  # defined by code in the __init__ itself, or not found: keep it all
            self.found.names.pop(package)
            self.need_module(package)
            return
        for stmt in binding:
            self._follow(stmt, package, only=name)

    def _packages_of(self, module: str) -> None:
        parts = module.split(".")
        for i in range(1, len(parts)):
            self.found.packages.add(".".join(parts[:i]))
        if self._is_package(module):
            self.found.packages.add(module)

    def _follow(self, stmt: ast.stmt, package: str, only: str | None = None) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name.split(".")[0] == self.top:
                    self.need_module(alias.name)
                    if alias.asname is None:  # `import pkg.sub` binds pkg, whose __init__ then matters
                        self.need_module(alias.name.split(".")[0])
        elif isinstance(stmt, ast.ImportFrom):
            target = resolve(stmt, package)
            if target is None or target.split(".")[0] != self.top:
                return
            for alias in stmt.names:
                if only is not None and (alias.asname or alias.name) != only and alias.name != "*":
                    continue
                if alias.name == "*" or not self._is_package(target):
                    self.need_module(target)
                elif self._file(f"{target}.{alias.name}") is not None:
                    self.need_module(f"{target}.{alias.name}")
                else:
                    self.need_name(target, alias.name)

    def provides(self, module: str, name: str) -> bool:
        """Does ``from module import *`` bind ``name``?"""
        if self._file(module) is None:
            return False
        body = self.tree(module).body
        for stmt in body:
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
            ):
                try:
                    return name in ast.literal_eval(stmt.value)
                except ValueError:
                    return True  # a computed __all__: assume it may
        return not name.startswith("_") and name in bound_names(module_level(body))


def resolve(stmt: ast.ImportFrom, package: str) -> str | None:
    """The absolute module of ``from ... import``; ``package`` is the importing module's package."""
    if not stmt.level:
        return stmt.module
    parts = package.split(".")
    if stmt.level - 1 > len(parts) - 1:
        return None
    base = parts[: len(parts) - stmt.level + 1]
    return ".".join(base + ([stmt.module] if stmt.module else []))


def module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run when a module is imported: the top level and the blocks of
    top-level if/try/with/for statements, not function or class bodies."""
    out: list[ast.stmt] = []
    for stmt in body:
        out.append(stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(stmt, name, None)
            if isinstance(block, list):
                out.extend(module_level(block))
        for handler in getattr(stmt, "handlers", []):
            out.extend(module_level(handler.body))
    return out


def bound_names(stmts: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*")
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _binding_statements(body: list[ast.stmt], package: str, name: str, walker: _Walker) -> list[ast.stmt] | None:
    """The top-level import statements of a package __init__ that bind ``name`` (a star import
    counts when its module provides the name); None when other code binds it, or nothing does."""
    found: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if any(_binds(stmt, alias, package, {name}, walker) for alias in stmt.names):
                found.append(stmt)
        elif name in bound_names([stmt]):
            return None
    return found or None


def _binds(stmt: ast.Import | ast.ImportFrom, alias: ast.alias, package: str, names: set[str], walker: _Walker) -> bool:
    """Does this alias of an import in ``package``'s __init__ bind one of ``names``? (A star
    import does when its module provides one.)"""
    if alias.name == "*":
        target = resolve(stmt, package) if isinstance(stmt, ast.ImportFrom) else None
        return target is not None and any(walker.provides(target, n) for n in names)
    return (alias.asname or alias.name).split(".")[0] in names


def _pruned_init(package: str, names: set[str], found: Closure) -> str:
    """The import statements of ``package``'s __init__ that bind ``names``, each trimmed to those names."""
    walker = _Walker(found)
    kept: list[ast.stmt] = []
    for stmt in walker.tree(package).body:
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        aliases = [alias for alias in stmt.names if _binds(stmt, alias, package, names, walker)]
        if aliases:
            kept.append(type(stmt)(**{**{f: getattr(stmt, f) for f in stmt._fields}, "names": aliases}))
    return "".join(ast.unparse(ast.fix_missing_locations(s)) + "\n" for s in kept)


def _rel(module: str, *, is_package: bool) -> str:
    parts = module.split(".")
    return "/".join(parts + ["__init__.py"]) if is_package else "/".join(parts) + ".py"
