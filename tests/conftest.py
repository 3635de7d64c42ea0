"""Shared fixtures of the three test folders: ``common/`` (both directions or neither),
``torch_to_tf/`` (PyTorch -> Keras) and ``tf_to_torch/`` (Keras -> PyTorch).

Test files have no ``__init__.py`` (pytest's default "prepend" import: each folder is put on
``sys.path``, so test basenames are unique across folders); this folder goes on ``sys.path``
too, for ``helpers.py``. The source generators shared with benchmarks/ (random models, fuzz
inputs, large files) live in the package: ``fwtranslate.testing``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from helpers import run_cli, translate_and_exec


@pytest.fixture
def cli():
    """The command line runner: ``cli(*args, cwd=..., program=..., env=..., in_process=...)``
    returns a ``helpers.CliResult`` (returncode, stdout, stderr, output)."""
    return run_cli


@pytest.fixture
def translate_exec():
    """``translate_exec(source, to)``: translate (no error allowed) and exec the translation;
    returns (its namespace, the translated code)."""
    return translate_and_exec


# The API-surface numeric files (test_*api_*numerics.py) hold one case per rule, about 760 in all.
# The suite runs every other case of each (a fixed half, so a run is reproducible) to keep CI
# inside its time on 2 cores; FWTRANSLATE_ALL_NUMERICS=1 runs them all.
_SAMPLED = ("test_api_nn_numerics.py", "test_api_torch_numerics.py", "test_tf_api_ops_numerics.py")
_SAMPLED += ("test_tf_api_layers_numerics.py", "test_tf_api_tf_numerics.py", "test_tf_api_tfnn_numerics.py")


def pytest_collection_modifyitems(config, items):
    import os

    if os.environ.get("FWTRANSLATE_ALL_NUMERICS") == "1":
        return
    kept, dropped, index = [], [], {}
    for item in items:
        name = Path(str(item.fspath)).name
        if name in _SAMPLED and getattr(item, "callspec", None) is not None:
            position = index[name] = index.get(name, -1) + 1
            (kept if position % 2 == 0 else dropped).append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
