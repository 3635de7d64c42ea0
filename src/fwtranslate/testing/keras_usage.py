"""What a Keras user does first with a translated model, on a CPU-only TensorFlow.

``check_keras_usage(path, entry, input_shape)`` runs, in a child process with no GPU visible:
``model(x)`` (eager), ``model.predict(x)``, ``model.compile(optimizer="sgd", loss="mse")`` + one
``model.fit`` step, and ``model.save("m.keras")`` + ``keras.models.load_model`` (the reloaded
model must give the same outputs). It returns ``{step: "ok" | error message}``. A child process,
because TensorFlow and the caller's torch do not share one process well, and so that the CPU-only
setting cannot leak into the caller. Used by tests/torch_to_tf/test_keras_usage.py and
benchmarks/corpus.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS = ("eager", "predict", "fit", "save_load")


def check_keras_usage(
    path: str | Path,
    entry: str,
    input_shape: tuple[int, ...],
    dtype: str = "float32",
    value_range: tuple[float, float] = (-1.0, 1.0),
    timeout: float = 600,
    args: tuple = (),
    kwargs: dict | None = None,
) -> dict[str, str]:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    spec = json.dumps(
        {
            "path": str(path),
            "entry": entry,
            "args": list(args),
            "kwargs": kwargs or {},
            "shape": list(input_shape),
            "dtype": dtype,
            "range": list(value_range),
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fwtranslate.testing.keras_usage", spec],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return dict.fromkeys(STEPS, f"child process failed (exit {proc.returncode}): {proc.stderr[-2000:]}")


def _import(path: Path):
    """The module at ``path``, imported under its package's dotted name when it is in one (a
    corpus package's relative imports), so that load_model finds the registered classes."""
    import importlib
    import importlib.util

    from fwtranslate.verify.loading import package_root

    root, dotted = package_root(path.resolve())
    sys.path.insert(0, str(root))
    if dotted:
        return importlib.import_module(dotted)
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


def _run(spec: dict) -> dict[str, str]:
    import keras  # type: ignore[import-untyped]
    import numpy as np

    from fwtranslate.verify.loading import resolve_entry

    results: dict[str, str] = {}
    module = _import(Path(spec["path"]))
    model = resolve_entry(module, spec["entry"])(*spec.get("args", ()), **spec.get("kwargs", {}))
    rng = np.random.default_rng(0)
    low, high = spec["range"]
    if spec["dtype"].startswith("int"):
        x = rng.integers(int(low), int(high), size=spec["shape"]).astype(spec["dtype"])
    else:
        x = rng.uniform(low, high, size=spec["shape"]).astype(spec["dtype"])

    def step(name, fn):
        try:
            fn()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, that is the point
            text = str(exc).strip().splitlines()
            results[name] = f"{type(exc).__name__}: {text[0][:300] if text else ''}"

    outputs: dict[str, object] = {}

    def numpy(tree):  # a tensor, or a tuple/dict of them (a model with several outputs)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, tree)

    step("eager", lambda: outputs.setdefault("y", numpy(model(x))))
    step("predict", lambda: model.predict(x, verbose=0))

    def fit():
        y = outputs.get("y")
        if y is None:
            y = numpy(model(x))
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, keras.tree.map_structure(np.zeros_like, y), epochs=1, batch_size=len(x), verbose=0)

    step("fit", fit)

    def save_load():
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "m.keras"
            model.save(file)
            again = keras.models.load_model(file)
            expected = keras.tree.flatten(numpy(model(x, training=False)))
            got = keras.tree.flatten(numpy(again(x, training=False)))
            if len(expected) != len(got) or not all(
                e.shape == g.shape and np.allclose(e, g, atol=1e-5, rtol=1e-5) for e, g in zip(expected, got)
            ):
                raise AssertionError("the reloaded model's outputs differ from the saved model's")

    step("save_load", save_load)
    return results


if __name__ == "__main__":
    print(json.dumps(_run(json.loads(sys.argv[1]))))
