"""--layout torch|keras|channels-first, and class contracts (docs/torch_to_tf.md, "Layout").

Translation checks are syntactic and fast; the verify checks run real torch and Keras on a few
Hypothesis examples each.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import fwtranslate
from fwtranslate.layout_header import read_header

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "torch"
CASES = {c["file"]: c for c in json.loads((SAMPLES / "samples.json").read_text())}
CONTRACT = "# fwtranslate: channels-last tensors in and out"


def _translate(source: str, layout: str = "torch") -> str:
    result = fwtranslate.translate(textwrap.dedent(source), "tf", layout=layout)
    assert result.ok, [d.format() for d in result.diagnostics]
    return result.code


def _method(code: str, cls: str) -> str:
    """The text of class ``cls``'s ``call`` (with the comment lines above it)."""
    start = code.index(f"class {cls}(")
    end = code.find("\nclass ", start + 1)
    body = code[start : end if end != -1 else len(code)]
    line = body.rfind("\n", 0, body.index("def call("))
    return body[body.rfind("\n", 0, line) :]  # the line above: the contract comment


def _verify(case: dict, out: Path, layout: str, **kwargs):
    source = SAMPLES / case["file"]
    result = fwtranslate.translate_file(source, "tf", output=out / case["file"], layout=layout)
    assert result.ok, [d.format() for d in result.diagnostics]
    shape = tuple(int(n) for n in case["input_shape"].split(","))
    return fwtranslate.verify(
        source,
        out / case["file"],
        case["entry"],
        input_shape=shape,
        input_dtype=case.get("input_dtype"),
        input_range=case.get("input_range"),
        **kwargs,
    )


# --- class contracts ------------------------------------------------------------------------------
def test_resnet_sample_moves_the_axis_only_at_the_models_entry():
    code = fwtranslate.translate((SAMPLES / "resnet.py").read_text(), "tf").code
    block, model = _method(code, "BasicBlock"), _method(code, "ResNet")
    assert CONTRACT in block and "moveaxis" not in block  # was: a move in and out of every block
    moves = re.findall(r"keras\.ops\.moveaxis\(x, (-?1), (-?1)\)", model)
    # entry only: the flatten after the adaptive pool to 1x1 has the same element order in both
    # layouts (test_samples_verify.py checks the numbers)
    assert moves == [("1", "-1")], model
    assert code.count("keras.ops.moveaxis") == 1
    assert read_header(code).takes_last == {"BasicBlock"}  # the verifier must know the block's own interface
    assert read_header(code).layout == "torch"


BLOCK = """
    import torch.nn as nn


    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)
            self.bn = nn.BatchNorm2d(c)

        def forward(self, x):
            return self.bn(self.conv(x)) + x


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.block = Block(8)
            self.head = nn.Conv2d(8, 2, 1)
            {extra_init}

        def forward(self, x):
            return self.head(self.block(self.stem(x)))
    {extra}
"""


def test_a_block_only_the_model_applies_gets_a_contract():
    code = _translate(BLOCK.format(extra_init="", extra=""))
    assert CONTRACT in _method(code, "Block")
    assert "moveaxis" not in _method(code, "Block")
    assert _method(code, "Net").count("moveaxis") == 2  # the model keeps NCHW in and out


@pytest.mark.parametrize(
    "extra_init, extra",
    [
        ("", "\n    def make_block():\n        return Block(8)\n"),  # handed to other code
        ("self.table = {'a': Block(8)}", ""),  # stored in a dict
        ("", "\n    class Wide(Block):\n        pass\n"),  # subclassed
        ("self.spare = Block(8)\n        self.spare2 = [self.spare]", ""),  # its instance used as a value
    ],
    ids=["returned", "dict", "subclassed", "instance-as-value"],
)
def test_no_contract_where_the_block_is_used_any_other_way(extra_init, extra):
    code = _translate(BLOCK.format(extra_init=extra_init, extra=extra))
    assert CONTRACT not in code
    assert "moveaxis" in _method(code, "Block")  # the block keeps PyTorch's order at its interface
    assert not code.startswith("# fwtranslate: layout=")


def test_keras_layout_gives_the_model_a_channels_last_interface():
    code = _translate(BLOCK.format(extra_init="", extra=""), layout="keras")
    assert code.count("keras.ops.moveaxis") == 0
    header = read_header(code)
    assert header.layout == "keras"
    assert header.takes_last == {"Block", "Net"} and header.returns_last == {"Block", "Net"}


def test_keras_layout_returns_a_flat_result_unchanged():
    code = fwtranslate.translate((SAMPLES / "lenet.py").read_text(), "tf", layout="keras").code
    header = read_header(code)
    assert header.takes_last == {"LeNet"} and not header.returns_last
    assert code.count("keras.ops.moveaxis") == 1  # before the flatten only


def test_channels_first_layout_has_no_plan():
    code = fwtranslate.translate((SAMPLES / "resnet.py").read_text(), "tf", layout="channels-first").code
    assert "ChannelsFirstConv2D(" in code and "keras.ops.moveaxis(x" not in code
    assert read_header(code).layout == "channels-first" and not read_header(code).takes_last


def test_files_without_spatial_layers_are_unchanged_by_the_layout():
    source = (SAMPLES / "transformer.py").read_text()
    assert fwtranslate.translate(source, "tf", layout="keras").code == fwtranslate.translate(source, "tf").code


def test_unknown_layout_and_wrong_direction_are_refused():
    with pytest.raises(ValueError, match="unknown layout"):
        fwtranslate.translate("import torch\n", "tf", layout="nhwc")
    with pytest.raises(ValueError, match="--to tf"):
        fwtranslate.translate("import keras\n", "torch", layout="keras")


# --- verify ---------------------------------------------------------------------------------------
SPATIAL = ["lenet.py", "resnet.py", "unet.py"]  # the other samples have no image layer


@pytest.mark.parametrize("name", SPATIAL)
def test_keras_layout_sample_verifies(name, tmp_path):
    # gradients through the moved interface once (lenet, the cheapest); inference for the others
    report = _verify(CASES[name], tmp_path, "keras", examples=2, check_training=name == "lenet.py")
    assert report.equivalent, report.format_text()
    assert read_header((tmp_path / name).read_text()).takes_last  # the interface did change


@pytest.mark.parametrize("name", sorted(set(CASES) - set(SPATIAL)))
def test_keras_layout_of_the_other_samples_is_the_verified_default(name):
    """No image layer, no other interface: the translation test_samples_verify.py verifies."""
    source = (SAMPLES / name).read_text()
    assert fwtranslate.translate(source, "tf", layout="keras").code == fwtranslate.translate(source, "tf").code


@pytest.mark.parametrize("name", ["lenet.py", "resnet.py"])
def test_channels_first_sample_verifies(name, tmp_path):
    report = _verify(CASES[name], tmp_path, "channels-first", examples=2, check_training=False)
    assert report.equivalent, report.format_text()


def test_weights_conversion_does_not_depend_on_the_interface(tmp_path):
    """The same torch checkpoint gives the same Keras weights under either layout."""
    import numpy as np
    import torch

    from fwtranslate.verify.interface import KerasInterface
    from fwtranslate.verify.loading import build_entry
    from fwtranslate.weights.checkpoint import convert_checkpoint
    from fwtranslate.weights.transfer import build_by_dry_run

    source = SAMPLES / "lenet.py"
    model = build_entry(source, "LeNet", (), {})
    torch.manual_seed(0)
    for p in model.parameters():
        p.data.normal_()
    state = tmp_path / "lenet.pt"
    torch.save(model.state_dict(), state)
    weights = {}
    for layout in ("torch", "keras"):
        translated = tmp_path / layout / "lenet.py"
        translated.parent.mkdir()
        fwtranslate.translate_file(source, "tf", output=translated, layout=layout)
        h5 = tmp_path / f"{layout}.weights.h5"
        convert_checkpoint(source, translated, "LeNet", state, h5, input_shape="2,1,28,28")
        kmodel = build_entry(translated, "LeNet", (), {})
        interface = KerasInterface.of(translated, kmodel)
        assert interface.takes_last == (layout == "keras")
        build_by_dry_run(kmodel, [np.zeros((2, 1, 28, 28), np.float32)], interface=interface)
        kmodel.load_weights(str(h5))
        weights[layout] = [v.numpy() for v in kmodel.weights]
    assert len(weights["torch"]) == len(weights["keras"]) >= 8
    for a, b in zip(weights["torch"], weights["keras"]):
        np.testing.assert_array_equal(a, b)


def test_an_attribute_given_a_block_or_another_layer_refuses_the_contract():
    source = BLOCK.format(extra_init="", extra="").replace(
        "self.block = Block(8)", "self.block = Block(8) if deep else nn.Identity()"
    )
    source = source.replace("def __init__(self):\n", "def __init__(self, deep=True):\n", 1)
    code = _translate(
        source.replace(
            "self.block = Block(8) if deep else nn.Identity()",
            "if deep:\n                self.block = Block(8)\n            else:\n                self.block = nn.Identity()",
        )
    )
    assert CONTRACT not in code


def test_an_attribute_given_one_of_two_blocks_follows_both(tmp_path):
    wide = "\n    class Wide(nn.Module):\n        def __init__(self, c):\n            super().__init__()\n            self.conv = nn.Conv2d(c, c, 5, padding=2)\n\n        def forward(self, x):\n            return self.conv(x)\n"
    source = BLOCK.format(extra_init="", extra=wide).replace(
        "self.block = Block(8)",
        "if deep:\n                self.block = Block(8)\n            else:\n                self.block = Wide(8)",
    )
    source = source.replace("def __init__(self):\n", "def __init__(self, deep=True):\n", 1)
    code = _translate(source)
    assert "moveaxis" not in _method(code, "Block") and "moveaxis" not in _method(code, "Wide")
    assert _method(code, "Net").count("moveaxis") == 2, code
    assert read_header(code).takes_last == {"Block", "Wide"}


def test_the_pre_commit_configuration_takes_a_layout(tmp_path):
    from fwtranslate.config import ConfigError, load

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.fwtranslate]\nto = "tf"\nlayout = "keras"\n')
    assert load(pyproject).layout == "keras"
    pyproject.write_text('[tool.fwtranslate]\nto = "tf"\nlayout = "nhwc"\n')
    with pytest.raises(ConfigError, match="layout"):
        load(pyproject)
