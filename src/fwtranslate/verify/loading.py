"""Importing the original file and its translation, and building the entry point.

A file inside a package (it has relative imports) is imported as a module of that package:
the package root is found by walking up the folders that hold an ``__init__.py``. The
translation may sit in a mirrored package with the same dotted names, so the modules one side
imported are dropped from ``sys.modules`` once its model is built, before the other side loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .progress import describe_exit, stage


class LoadError(Exception):
    """The file could not be imported or the entry could not be built."""


def package_root(path: Path) -> tuple[Path, str]:
    """(folder to put on sys.path, dotted module name) for a file; a stand-alone file gets ''."""
    path = path.resolve()
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts) if len(parts) > 1 else ""


@contextlib.contextmanager
def isolated_import(path: Path) -> Iterator[Any]:
    """Import ``path`` and yield the module; on exit forget every module loaded from its tree.
    Errors name the file as it was given (``orig.py``), never the internal module name."""
    shown = str(path)
    path = Path(path).resolve()
    root, dotted = package_root(path)
    before = set(sys.modules)
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the user's folders
    sys.path.insert(0, str(root))
    stage(f"importing {shown}", shown, at_import=True)
    try:
        if dotted:
            module = importlib.import_module(dotted)
        else:
            module = _import_standalone(path)
        yield module
    except LoadError:
        raise
    except SystemExit as exc:  # sys.exit() at import: never the verifier's own exit (nor a pass)
        raise LoadError(f"{shown} raised {describe_exit(exc)} at import") from None
    except Exception as exc:
        raise LoadError(f"cannot import {shown}: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.dont_write_bytecode = bytecode
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if name.startswith("_fwtranslate_verify_") or (file and _under(Path(file), root)):
                del sys.modules[name]


def _import_standalone(path: Path) -> Any:
    # A unique name per file content: the same file name on both sides (model.py) never collides.
    digest = hashlib.sha1(str(path).encode() + path.read_bytes(), usedforsecurity=False).hexdigest()[:12]
    name = f"_fwtranslate_verify_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def _under(file: Path, root: Path) -> bool:
    try:
        file.resolve().relative_to(root)
        return not _is_site_package(file)
    except ValueError:
        return False


def _is_site_package(file: Path) -> bool:
    return "site-packages" in file.parts or "dist-packages" in file.parts


def resolve_entry(module: Any, entry: str, shown: str | None = None) -> Any:
    """``Net`` or ``EfficientNet.from_name``: attribute lookups from the module (``shown``: the
    file's name for messages)."""
    shown = shown or str(getattr(module, "__file__", None) or module.__name__)
    obj = module
    for i, part in enumerate(entry.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if i == 0:
                raise LoadError(f"{shown} has no {part!r} (--entry {entry})") from None
            raise LoadError(f"{shown}: {'.'.join(entry.split('.')[:i])} has no attribute {part!r}") from None
    if not callable(obj):
        raise LoadError(f"entry {entry!r} is not callable")
    return obj


def build_entry(
    path: str | Path, entry: str, args: tuple = (), kwargs: dict | None = None, *, before_build=None
) -> Any:
    """Import ``path`` and call its entry with ``args``/``kwargs``; ``before_build`` is a
    context manager factory entered around the call (Keras float64, device scope)."""
    shown = str(path)
    with isolated_import(path) as module:
        factory = resolve_entry(module, entry, shown)
        scope = before_build() if before_build else contextlib.nullcontext()
        call = f"{entry}(*{list(args)!r}, **{kwargs or {}!r})"
        stage(f"building {entry} from {shown}", f"{shown}: {call}")
        try:
            with scope:
                return factory(*args, **(kwargs or {}))
        except SystemExit as exc:
            raise LoadError(f"{shown}: {call} raised {describe_exit(exc)}") from None
        except Exception as exc:
            raise LoadError(f"{Path(path).name}: {call} raised {type(exc).__name__}: {exc}") from exc
