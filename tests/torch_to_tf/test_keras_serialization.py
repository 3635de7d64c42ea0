"""Translated classes whose constructors take layers, layer classes, functions and partials
save as ``.keras`` and reload (passes/torch_to_tf/serializable.py, support_saving.py).

One PyTorch source holds every kind of argument; its translation is built, used, saved with
``model.save`` and reloaded with ``keras.models.load_model`` in a child process
(fwtranslate.testing.keras_usage), and the reloaded model must give the same outputs.
"""

from __future__ import annotations

import re

import fwtranslate
from fwtranslate.testing.keras_usage import check_keras_usage

SOURCE = '''\
from functools import partial
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F
from torch import nn


class PreNormResidual(nn.Module):
    """Takes a layer: vit-pytorch's shape."""

    def __init__(self, dim, fn):
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.fn(self.norm(x)) + x


class Block(nn.Module):
    """Takes a layer class and a function: torchvision's shape."""

    def __init__(self, dim: int, norm_layer: Optional[Callable[..., nn.Module]] = None, act=F.relu):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.LayerNorm
        self.norm = norm_layer(dim)
        self.linear = nn.Linear(dim, dim)
        self.act = act

    def forward(self, x):
        return self.act(self.linear(self.norm(x)))


class Plain(nn.Module):
    """Plain arguments only: Keras' automatic config."""

    def __init__(self, dim, sizes=(8, 8), scale=0.5):
        super().__init__()
        self.linear = nn.Linear(dim, sizes[-1])
        self.scale = scale

    def forward(self, x):
        return self.linear(x) * self.scale


class Net(nn.Module):
    def __init__(self, head, block=Block, widths: List[int] = [8, 8], norm_layer=partial(nn.LayerNorm, eps=1e-3)):
        super().__init__()
        self.blocks = nn.Sequential(*[PreNormResidual(w, block(w, norm_layer, torch.tanh)) for w in widths])
        self.plain = Plain(widths[-1])
        self.head = head

    def forward(self, x):
        return self.head(self.plain(self.blocks(x)))


def build():
    return Net(nn.Sequential(nn.Linear(8, 4), nn.GELU()))
'''


def _translate(tmp_path, source=SOURCE):
    src, out = tmp_path / "saving_net.py", tmp_path / "saving_net_tf.py"
    src.write_text(source)
    return fwtranslate.translate_file(src, "tf", output=out), out


def _class(code: str, name: str) -> str:
    return re.search(rf"\nclass {name}\b.*?(?=\n\S|\Z)", code, re.S).group(0)


def test_classes_taking_objects_get_a_config_and_plain_ones_keep_keras_own(tmp_path):
    result, _ = _translate(tmp_path)
    code = result.code
    assert result.ok, [d.format() for d in result.diagnostics]
    for name, args in [
        ("PreNormResidual", '{"dim": dim, "fn": fn}'),  # a layer, stored and called
        ("Block", '{"dim": dim, "norm_layer": norm_layer, "act": act}'),  # a class, a function
        ("Net", '{"head": head, "block": block, "widths": widths, "norm_layer": norm_layer}'),
    ]:
        body = _class(code, name)
        assert f"self.init_args = {args}" in body
        assert "def get_config(self)" in body and "def from_config(cls, config)" in body
    # captured before __init__ reassigns norm_layer, after super().__init__
    block = _class(code, "Block")
    assert block.index("super().__init__") < block.index("self.init_args") < block.index("norm_layer = LayerNorm")
    assert "get_config" not in _class(code, "Plain")
    # the functions a constructor may be given are registered, so Keras saves them by name
    for fn in ("relu", "LayerNorm", "tanh"):
        assert re.search(rf"register_keras_serializable\(package=\"saving_net\"\)\ndef {fn}\(", code), fn


def test_translation_saves_and_reloads(tmp_path):
    _, out = _translate(tmp_path)
    outcome = check_keras_usage(out, "build", (2, 8))
    assert outcome == dict.fromkeys(outcome, "ok"), outcome


def test_without_the_generated_config_reloading_fails(tmp_path):
    """The check can fail: the same translation without its get_config cannot be saved."""
    result, out = _translate(tmp_path)
    out.write_text(re.sub(r"\n    def get_config\(self\):\n.*?\n(?=\n\n@|\n\ndef )", "\n", result.code, flags=re.S))
    assert "def get_config" not in out.read_text()
    assert check_keras_usage(out, "build", (2, 8))["save_load"] != "ok"


def test_a_lambda_argument_is_reported(tmp_path):
    source = SOURCE.replace("act=F.relu", "act=lambda x: x")
    result, _ = _translate(tmp_path, source)
    reported = [d for d in result.diagnostics if d.code == "keras-config"]
    assert reported and reported[0].severity == "warning" and "lambda" in reported[0].message
