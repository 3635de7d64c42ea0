"""``[tool.fwtranslate]`` in a project's pyproject.toml: what the pre-commit hooks translate.

```toml
[tool.fwtranslate]
to = "tf"                                          # the target framework
mirrors = {"models/net.py" = "models_tf/net.py",   # a file -> its translated mirror
           "models/blocks/" = "models_tf/blocks/"} # a folder -> a folder (every .py below it)
rules = ["fwtranslate_rules.yaml"]                 # extra rule files
ignore = ["no-rule"]                               # rules whose errors fwtranslate-check accepts
layout = "torch"                                   # --to tf: torch | keras | channels-first (--layout)
```

Paths are relative to the folder holding pyproject.toml. Unknown keys are errors: a typo
(``mirror =``) must not silently turn the hooks into no-ops.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from .directions import LAYOUTS, TARGETS

KEYS = ("to", "mirrors", "rules", "ignore", "layout")


class ConfigError(Exception):
    """pyproject.toml is unreadable or its [tool.fwtranslate] table is malformed."""


@dataclass(frozen=True)
class Config:
    root: Path  # the folder holding pyproject.toml
    to: str = "tf"
    mirrors: dict[str, str] = field(default_factory=dict)  # relative posix paths; folders end in "/"
    rules: tuple[Path, ...] = ()
    ignore: frozenset[str] = frozenset()
    layout: str = "torch"  # PyTorch -> Keras: the models' interface (--layout)
    path: Path | None = None  # the pyproject.toml read, if any

    def mirror_of(self, source: Path) -> Path | None:
        """The mirror configured for ``source`` (a path anywhere), or None."""
        rel = self._relative(source)
        if rel is None:
            return None
        if rel in self.mirrors:
            return self.root / self.mirrors[rel]
        for src, dst in self._folders():
            if rel.startswith(src) and rel.endswith(".py"):
                return self.root / dst / rel[len(src) :]
        return None

    def source_of(self, mirror: Path) -> Path | None:
        """The source whose mirror ``mirror`` is, or None."""
        rel = self._relative(mirror)
        if rel is None:
            return None
        for src, dst in self.mirrors.items():
            if rel == dst and not src.endswith("/"):
                return self.root / src
        for src, dst in self._folders():
            if rel.startswith(dst) and rel.endswith(".py"):
                return self.root / src / rel[len(dst) :]
        return None

    def all_sources(self) -> list[Path]:
        """Every configured source file, folders expanded (sorted, for a stable output)."""
        found = [self.root / s for s in self.mirrors if not s.endswith("/")]
        for src, _ in self._folders():
            found.extend(p for p in (self.root / src).rglob("*.py") if "__pycache__" not in p.parts)
        return sorted(set(found))

    def is_rule_file(self, path: Path) -> bool:
        return any(_same(path, r) for r in self.rules)

    def _folders(self) -> list[tuple[str, str]]:
        return [(s, d) for s, d in self.mirrors.items() if s.endswith("/")]

    def _relative(self, path: Path) -> str | None:
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in ``start`` or above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(pyproject: Path | None = None, start: Path | None = None) -> Config:
    """Read ``[tool.fwtranslate]``; without a pyproject.toml (or the table), the defaults."""
    path = pyproject or find_pyproject(start or Path.cwd())
    if path is None:
        return Config(root=(start or Path.cwd()).resolve())
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool] must be a table (found tool = {tool!r})")
    table = tool.get("fwtranslate", {})
    root = Path(path).resolve().parent
    return _parse(table, root, Path(path))


def _parse(table: object, root: Path, path: Path) -> Config:
    where = f"{path}: [tool.fwtranslate]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    to = table.get("to", "tf")
    if to not in TARGETS:
        raise ConfigError(f"{where}: to = {to!r} is not a target (choose from: {', '.join(TARGETS)})")
    mirrors = table.get("mirrors", {})
    if not isinstance(mirrors, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mirrors.items()):
        raise ConfigError(f'{where}: mirrors must map paths to paths: {{"models/net.py" = "models_tf/net.py"}}')
    mirrors = {_clean(k): _clean(v) for k, v in mirrors.items()}
    for src, dst in mirrors.items():
        if src.endswith("/") != dst.endswith("/"):
            raise ConfigError(f"{where}: mirrors: {src!r} -> {dst!r}: map a folder (ending in /) to a folder")
        if (root / src).resolve() == (root / dst).resolve():
            raise ConfigError(f"{where}: mirrors: {src!r} is its own mirror; the input is never overwritten")
    targets = list(mirrors.values())
    duplicate = next((t for t in targets if targets.count(t) > 1), None)
    if duplicate:
        raise ConfigError(f"{where}: mirrors: two sources write {duplicate!r}")
    layout = table.get("layout", "torch")
    if layout not in LAYOUTS or (layout != "torch" and to != "tf"):
        raise ConfigError(f'{where}: layout = {layout!r}: with to = "tf", choose from: {", ".join(LAYOUTS)}')
    rules = _string_list(table, "rules", where)
    ignore = _string_list(table, "ignore", where)
    _check_mirror_places(mirrors, root, path, [root / r for r in rules], where)
    return Config(
        root=root,
        to=to,
        mirrors=mirrors,
        rules=tuple(root / r for r in rules),
        ignore=frozenset(ignore),
        layout=layout,
        path=path,
    )


def _check_mirror_places(mirrors: dict[str, str], root: Path, path: Path, rules: list[Path], where: str) -> None:
    """Mirrors are written: each must stay inside the project folder (no ``..``, no absolute
    path, no symlinked folder leading out) and must not be a configured source, inside a
    source folder, pyproject.toml or a rule file."""
    top = root.resolve()

    def real(rel: str) -> Path:
        return (root / rel).resolve()

    for rel in (*mirrors, *mirrors.values()):
        if not _inside(real(rel), top):
            linked = not Path(rel).is_absolute() and ".." not in Path(rel).parts
            raise ConfigError(
                f"{where}: mirrors: {rel!r} "
                + (
                    "leads outside the project folder (a symbolic link)"
                    if linked
                    else "is outside the project folder (the folder holding pyproject.toml)"
                )
            )
    files = {real(s): s for s in mirrors if not s.endswith("/")}
    folders = {real(s): s for s in mirrors if s.endswith("/")}
    settings = {Path(path).resolve(): Path(path).name, **{r.resolve(): f"the rule file {r.name}" for r in rules}}
    for src, dst in mirrors.items():
        mirror = real(dst)
        clash = f"{where}: mirrors: {src!r} -> {dst!r}:"
        for place, other in folders.items():
            if dst.endswith("/") and (_inside(mirror, place) or _inside(place, mirror)):
                raise ConfigError(
                    f"{clash} the mirror folder overlaps the source folder {other!r}; a source is never overwritten"
                )
            if not dst.endswith("/") and _inside(mirror, place):
                raise ConfigError(
                    f"{clash} the mirror is inside the source folder {other!r}; a source is never overwritten"
                )
        for place, other in files.items():
            if mirror == place or (dst.endswith("/") and _inside(place, mirror)):
                raise ConfigError(
                    f"{clash} the mirror would overwrite the source {other!r}; a source is never overwritten"
                )
        for place, name in settings.items():
            if mirror == place or (dst.endswith("/") and _inside(place, mirror) and place.suffix == ".py"):
                raise ConfigError(f"{clash} the mirror would overwrite {name}")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _string_list(table: dict, key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def _clean(rel: str) -> str:
    """``./models//net.py`` -> ``models/net.py``; a trailing / (a folder) is kept."""
    folder = rel.endswith("/")
    posix = Path(rel).as_posix()
    posix = "" if posix == "." else posix
    return posix + "/" if folder and posix else posix


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()
