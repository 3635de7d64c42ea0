"""Robustness cases: `fwtranslate verify` / `weights` on models that exit, hang, crash or print.

Each runs the models in verify's child process: a tiny torch model and its Keras translation,
with something at the top of the original (the frameworks' import dominates the time).
"""

from __future__ import annotations

import io

from robustness_support import Case

MODEL = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)
"""
MODEL_TF = """import keras


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.fc = keras.layers.Dense(3)

    def call(self, x):
        return self.fc(x)
"""
TWO_LAYERS_TF = MODEL_TF.replace(
    "self.fc = keras.layers.Dense(3)", "self.fc = keras.layers.Dense(3)\n        self.out = keras.layers.Dense(2)"
).replace("self.fc(x)", "self.out(self.fc(x))")
TWO_LAYERS = MODEL.replace(
    "self.fc = nn.Linear(4, 3)", "self.fc = nn.Linear(4, 3)\n        self.out = nn.Linear(3, 2)"
).replace("self.fc(x)", "self.out(self.fc(x))")
HELLO = 'print("hello from the model")\n'
# a .pt (a zip archive) cut short: its central directory is missing
TRUNCATED_PT = b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"\x00" * 40


def _verify(original: str, *extra: str) -> tuple[str, ...]:
    return ("verify", original, "net_tf.py", "--entry", "Net", "--input-shape", "2,4", "--examples", "2", *extra)


def _pair(prefix: str) -> dict[str, str]:
    """The original (``prefix`` run first at import) and its translation."""
    return {"net.py": prefix + MODEL, "net_tf.py": MODEL_TF}


def _weights_h5(layers: dict[str, list[tuple[int, ...]]]) -> bytes:
    """A Keras .weights.h5 as Model.save_weights writes it: one group per layer attribute."""
    import h5py
    import numpy as np

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for name, shapes in layers.items():
            group = f.create_group(f"{name}/vars")
            group.attrs["name"] = "dense"
            for i, shape in enumerate(shapes):
                group.create_dataset(str(i), data=np.zeros(shape, "float32"))
        f.create_group("vars").attrs["name"] = "net"
    return buf.getvalue()


CASES: list[Case] = [
    Case(
        "verify: the original calls sys.exit(0) at import",
        _pair("import sys\nsys.exit(0)\n"),
        _verify("net.py"),
        2,
        "fwtranslate: could not verify: net.py raised SystemExit(0) at import",
    ),
    Case(
        "verify: the original loops forever at import",
        _pair("while True:\n    pass\n"),
        _verify("net.py", "--timeout", "3"),
        2,
        "fwtranslate: could not verify: timed out after 3 s while importing net.py",
    ),
    Case(
        "verify: the original raises KeyboardInterrupt at import",
        _pair("raise KeyboardInterrupt\n"),
        _verify("net.py"),
        2,
        "fwtranslate: could not verify: net.py raised KeyboardInterrupt at import",
    ),
    Case(
        "verify: the original segfaults at import",
        _pair("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"),
        _verify("net.py"),
        2,
        "fwtranslate: could not verify: the process running net.py was killed by SIGSEGV at import",
    ),
    Case(
        "verify: the original calls os._exit(0) at import",
        _pair("import os\nos._exit(0)\n"),
        _verify("net.py"),
        2,
        "fwtranslate: could not verify: net.py ended the process (exit status 0, without a result) at import",
    ),
    Case(
        "verify --json: the original prints, then sys.exit(1) in its constructor",
        {
            "net.py": HELLO + MODEL.replace("super().__init__()", "super().__init__()\n        raise SystemExit(1)"),
            "net_tf.py": MODEL_TF,
        },
        _verify("net.py", "--json"),
        2,
        "",
        stdout_json=True,
    ),
    Case(
        "verify: the original prints at import (equivalent)",
        _pair(HELLO),
        _verify("net.py"),
        0,
        "  | hello from the model",
    ),
    Case(
        "verify --json: the original prints at import (equivalent)",
        _pair(HELLO),
        _verify("net.py", "--json"),
        0,
        "",
        stdout_json=True,
    ),
    Case(
        "weights: a truncated .pt",
        {"net.py": MODEL, "net_tf.py": MODEL_TF, "net.pt": TRUNCATED_PT},
        (
            "weights",
            "net.py",
            "net_tf.py",
            "--entry",
            "Net",
            "--input-shape",
            "2,4",
            "--from",
            "net.pt",
            "--to",
            "net.weights.h5",
        ),
        2,
        "fwtranslate: error: net.pt is not a readable PyTorch checkpoint (truncated or corrupt)",
    ),
    Case(
        "weights: an .h5 missing a layer",
        {"net.py": TWO_LAYERS, "net_tf.py": TWO_LAYERS_TF, "one.weights.h5": _weights_h5({"fc": [(4, 3), (3,)]})},
        (
            "weights",
            "net.py",
            "net_tf.py",
            "--entry",
            "Net",
            "--input-shape",
            "2,4",
            "--from",
            "one.weights.h5",
            "--to",
            "net.pt",
        ),
        2,
        "fwtranslate: error: one.weights.h5 does not fit Net in net_tf.py: it has no weights for 1 layer(s): "
        "out (Dense)",
    ),
]
