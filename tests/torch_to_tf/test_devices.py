"""Devices and kernel settings, PyTorch -> Keras: a device keeps a meaningful value (its name),
never None; settings of torch's kernels become TensorFlow's own switch where it has one, and
are dropped with a note where it chooses by itself."""

from __future__ import annotations

import fwtranslate


def translate(source: str):
    return fwtranslate.translate("import torch\n" + source, to="tf")


def test_a_device_is_its_name():
    result = translate(
        'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\nd1 = torch.device("cpu")\n'
    )
    assert 'device = str("cuda" if len(keras.distribution.list_devices("gpu")) > 0 else "cpu")' in result.code
    assert 'd1 = "cpu"' in result.code
    namespace: dict = {}
    exec(compile(result.code, "<t>", "exec"), namespace)
    assert namespace["device"] in ("cuda", "cpu") and namespace["d1"] == "cpu"


def test_kernel_settings():
    result = translate(
        "torch.backends.cudnn.deterministic = True\n"
        "torch.backends.cuda.matmul.allow_tf32 = False\n"
        "torch.backends.cudnn.benchmark = True\n"
    )
    assert "tf.config.experimental.enable_op_determinism()" in result.code
    assert "tf.config.experimental.enable_tensor_float_32_execution(False)" in result.code
    assert "torch" not in result.code.replace("torch.backends.cudnn.benchmark = True dropped", "")
    assert [(d.severity, d.code) for d in result.diagnostics] == [("info", "backend-setting")]
    assert result.ok


def test_a_model_moved_to_a_device_in_a_statement_is_a_comment():
    """``net.to(device)`` / ``net.cuda()`` alone on a line: the translation has no bare ``net``
    statement left, but a comment saying why, and a note; a move that also casts stays a cast."""
    result = translate(
        "device = torch.device('cpu')\nnet = make()\nnet.to(device)\nnet.cuda()\nx = x.to(device)\n"
        "y.to(torch.float64)\n"
    )
    lines = [line.strip() for line in result.code.splitlines()]
    assert "net" not in lines
    assert "# fwtranslate: net.to(device) dropped: Keras places tensors and variables on a device itself" in lines
    assert "# fwtranslate: net.cuda() dropped: Keras places tensors and variables on a device itself" in lines
    assert "x = x" in lines  # an assignment keeps its value
    assert 'keras.ops.cast(y, "float64")' in lines
    assert [(d.severity, d.code) for d in result.diagnostics if d.code == "device"] == [("info", "device")] * 2
