"""Run one script unmodified, as ``python SCRIPT ARGS...`` would, on the synthetic datasets.

    python benchmarks/scripts_runner.py SCRIPT [ARGS...]
    python benchmarks/scripts_runner.py --initial-weights ENTRY OUT SCRIPT

The second form imports SCRIPT as a module and saves the weights of a model built by ``ENTRY()``
(a class or a function of the script) before any training: ``torch.save(model.state_dict(),
OUT)`` for a torch module, ``model.save_weights(OUT)`` for a Keras model. The benchmark starts
an original and its translation from these weights (converted by ``fwtranslate weights``).

The script runs as ``__main__`` (``runpy.run_path``) with ``sys.argv`` = ``[SCRIPT, *ARGS]``. Two
things are set up first, neither visible to the script:

- the hash checks of the loaders accept files under ``$FWTRANSLATE_SYNTHETIC_DATA`` (torchvision's
  ``check_md5``, Keras' ``validate_file``): the synthetic files of ``scripts_data.py`` cannot have
  the real datasets' hashes; a file elsewhere is checked as usual;
- a torchvision wheel whose C extension cannot load on this CPU torch (a CUDA build) gets the
  schemas of its ``nms`` / ``qnms`` operators declared, so that its Python code imports (as
  ``torch_speed.py`` does); datasets and transforms are pure Python.

The patches are applied when the module is imported (an import hook), so a script that never
imports Keras does not pay for importing it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
from pathlib import Path

ROOT_VARIABLE = "FWTRANSLATE_SYNTHETIC_DATA"


def _synthetic(path) -> bool:
    root = os.environ.get(ROOT_VARIABLE)
    if not root:
        return False
    return os.path.realpath(os.fspath(path)).startswith(os.path.realpath(root) + os.sep)


def _patch_keras(module) -> None:
    original = module.validate_file

    def validate_file(fpath, file_hash, *args, **kwargs):
        return True if _synthetic(fpath) else original(fpath, file_hash, *args, **kwargs)

    module.validate_file = validate_file


def _patch_torchvision(module) -> None:
    original = module.check_md5

    def check_md5(fpath, md5, **kwargs):
        return True if _synthetic(fpath) else original(fpath, md5, **kwargs)

    module.check_md5 = check_md5


def _declare_torchvision_ops(spec) -> None:
    """torchvision's operator schemas, when its own C extension does not load."""
    import torch

    folder = Path(spec.origin or "").parent
    for library in folder.glob("_C*.so"):
        try:
            torch.ops.load_library(str(library))
            return
        except (OSError, RuntimeError):
            break
    global _TORCHVISION_OPS
    _TORCHVISION_OPS = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        _TORCHVISION_OPS.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


_TORCHVISION_OPS = None
AFTER = {"keras.src.utils.file_utils": _patch_keras, "torchvision.datasets.utils": _patch_torchvision}


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in AFTER and name != "torchvision":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        if name == "torchvision":
            _declare_torchvision_ops(spec)
            return spec
        run = spec.loader.exec_module

        def exec_module(module, run=run, patch=AFTER[name]):
            run(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def save_initial_weights(entry: str, out: str, script: str) -> None:
    spec = importlib.util.spec_from_file_location("_script", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["_script"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    model = getattr(module, entry)()
    if hasattr(model, "state_dict"):
        import torch

        torch.save(model.state_dict(), out)
    else:
        model.save_weights(out)


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    if sys.argv[1] == "--initial-weights":
        _, _, entry, out, script = sys.argv
        sys.path[0] = str(Path(script).resolve().parent)
        sys.meta_path.insert(0, _Hook())
        save_initial_weights(entry, out, script)
        return
    script = sys.argv[1]
    sys.argv = [script, *sys.argv[2:]]
    sys.path[0] = str(Path(script).resolve().parent)  # as `python SCRIPT` has it, not this folder
    sys.meta_path.insert(0, _Hook())
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
