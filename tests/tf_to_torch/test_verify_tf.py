"""The verifier and the weight transfer when the ORIGINAL is Keras and the translation PyTorch
(``fwtranslate x.py --to torch``): hand-written torch counterparts in tests/fixtures/tf_pairs/
(Lazy modules, ChannelsLast / x.movedim, nn.Sequential(layer, activation)), injected bugs, the
converters for Keras layers, checkpoint conversion, and the Keras samples (samples/tf/)."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("hypothesis")

from fwtranslate.directions import TF_TO_TORCH, TORCH_TO_TF
from fwtranslate.verify import verify
from fwtranslate.verify.backend import frameworks
from fwtranslate.verify.cli_support import run_verify_cli
from fwtranslate.verify.direction import detect_direction, framework_of

torch, tf, keras = frameworks()

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "fixtures" / "tf_pairs"
SAMPLES_TF = ROOT / "samples" / "tf"
SAMPLES_TORCH = ROOT / "samples" / "torch"


def _verify(original, translated, entry, shape, **kwargs):
    kwargs.setdefault("examples", 4)
    return verify(PAIRS / original, PAIRS / translated, entry, input_shape=shape, **kwargs)


def _phases(report):
    return {p.name: p for p in report.phases}


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_t_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- direction -------------------------------------------------------------------------------
def test_direction_from_imports(tmp_path):
    assert framework_of(PAIRS / "mlp_keras.py") == "keras"
    assert framework_of(PAIRS / "mlp_torch.py") == "torch"
    assert framework_of(SAMPLES_TORCH / "mlp.py") == "torch"
    assert detect_direction(PAIRS / "mlp_keras.py", PAIRS / "mlp_torch.py") == TF_TO_TORCH
    assert detect_direction(SAMPLES_TORCH / "mlp.py", PAIRS / "mlp_keras.py") == TORCH_TO_TF
    neither = tmp_path / "neither.py"
    neither.write_text("from .models import Net\n")
    assert framework_of(neither) is None
    assert detect_direction(neither, PAIRS / "mlp_torch.py") == TF_TO_TORCH  # the translation decides
    assert detect_direction(neither, PAIRS / "mlp_keras.py") == TORCH_TO_TF


# --- equivalent translations -----------------------------------------------------------------
def test_sequential_mlp_is_equivalent():
    report = _verify("mlp_keras.py", "mlp_torch.py", "build", (2, 8))
    assert report.equivalent, report.format_text()
    phases = _phases(report)
    assert {"transfer", "inference", "training", "gradients", "step"} <= set(phases)
    assert phases["inference"].max_abs <= 1e-5
    assert report.transferred["tensors"] == 6  # three Linear layers: weight + bias


def test_subclassed_cnn_channels_last_is_equivalent():
    report = _verify("cnn_keras.py", "cnn_torch.py", "CNN", (2, 9, 9, 3))
    assert report.equivalent, report.format_text()
    assert _phases(report)["inference"].max_abs <= 1e-5


def test_custom_layer_with_add_weight_is_equivalent():
    report = _verify("custom_keras.py", "custom_torch.py", "Net", (2, 5))
    assert report.equivalent, report.format_text()
    # 2 blocks x (Dense kernel + bias, gamma, offset, shift) + the head's kernel and bias
    assert report.transferred["tensors"] == 12


def test_batchnorm_model_is_equivalent():
    report = _verify("bn_keras.py", "bn_torch.py", "ConvBN", (2, 8, 8, 3))
    assert report.equivalent, report.format_text()
    assert {"training", "gradients", "step"} <= set(_phases(report))


def test_functional_model_layers_matched_by_order():
    report = verify(SAMPLES_TF / "cnn.py", PAIRS / "functional_cnn_torch.py", "build_cnn", examples=3)
    assert report.equivalent, report.format_text()
    assert "inputs declared" in report.input_spec["inferred_from"]  # (B, 28, 28, 1) from keras.Input


def test_float64_keras_original():
    report = _verify("mlp_keras.py", "mlp_torch.py", "build", (2, 8), float64=True, check_training=False)
    assert report.equivalent, report.format_text()
    assert report.max_abs_error <= 1e-10


# --- injected bugs ---------------------------------------------------------------------------
def test_wrong_activation_is_not_equivalent_and_localised():
    report = _verify("mlp_keras.py", "mlp_torch_bad_activation.py", "build", (2, 8))
    assert report.status == "not_equivalent", report.format_text()
    assert report.exit_code == 1
    div = report.diverging_layer
    assert div["path"] == "layers[2]", report.format_text()  # the Keras layer Dense(16, activation="tanh")
    assert div["translation_path"] == "2"
    assert div["original_class"] == "Dense"
    assert "layers[2]" in report.format_text()


def test_wrong_flatten_layout_is_not_equivalent_and_localised():
    report = _verify("cnn_keras.py", "cnn_torch_bad_flatten.py", "CNN", (2, 9, 9, 3))
    assert report.status == "not_equivalent", report.format_text()
    div = report.diverging_layer
    # the Flatten's inputs agree (up to the channel axis' position); its outputs do not
    assert div["path"] == "flatten", report.format_text()
    assert "different outputs" in div["reason"]


def test_wrong_batchnorm_momentum_fails_the_step(tmp_path):
    bad = tmp_path / "bn_torch_bad.py"
    bad.write_text((PAIRS / "bn_torch.py").read_text().replace("eps=1e-3, momentum=0.1", "eps=1e-3, momentum=0.9"))
    report = verify(PAIRS / "bn_keras.py", bad, "ConvBN", input_shape=(2, 8, 8, 3), examples=4)
    assert report.status == "not_equivalent", report.format_text()
    failed = [p.name for p in report.phases if not p.ok]
    assert failed == ["step"], report.format_text()
    assert report.diverging_layer["path"] == "bn", report.format_text()


def test_translation_crash_is_not_equivalent(tmp_path):
    bad = tmp_path / "mlp_torch_crash.py"
    bad.write_text(
        (PAIRS / "mlp_torch.py")
        .read_text()
        .replace("nn.LazyLinear(num_classes),", "nn.Unflatten(1, (3, -1)), nn.LazyLinear(num_classes),")
    )
    report = _verify("mlp_keras.py", bad, "build", (2, 8))
    assert report.status == "not_equivalent", report.format_text()
    assert "raised" in report.reason


def test_missing_torch_counterpart_names_both_paths(tmp_path):
    bad = tmp_path / "cnn_torch_renamed.py"
    bad.write_text((PAIRS / "cnn_torch.py").read_text().replace("self.fc", "self.head"))
    report = _verify("cnn_keras.py", bad, "CNN", (2, 9, 9, 3))
    assert report.status == "not_equivalent", report.format_text()
    assert "'fc'" in report.reason and "transfer" in report.reason, report.reason


def test_keras_layer_without_converter_is_reported(tmp_path, monkeypatch):
    from fwtranslate.weights import from_keras

    # as if no rule named a converter for PReLU (rules are being written: pretend there is none)
    monkeypatch.setattr(from_keras, "_ruleset", lambda: None)
    monkeypatch.setitem(from_keras.FALLBACK_CONVERTERS, "PReLU", None)
    orig = tmp_path / "prelu_keras.py"
    orig.write_text(
        "import keras\n\n\ndef build():\n"
        "    return keras.Sequential([keras.Input((4,)), keras.layers.PReLU(), keras.layers.Dense(2)])\n"
    )
    trans = tmp_path / "prelu_torch.py"
    trans.write_text(
        "import torch\nfrom torch import nn\n\n\ndef build():\n"
        "    return nn.Sequential(nn.PReLU(4), nn.LazyLinear(2))\n"
    )
    report = verify(orig, trans, "build", input_shape=(2, 4), examples=2)
    assert report.status == "error", report.format_text()
    assert "keras.layers.PReLU" in report.reason and "layers[0]" in report.reason


def test_subclassed_model_without_input_shape_says_so():
    report = verify(PAIRS / "cnn_keras.py", PAIRS / "cnn_torch.py", "CNN", examples=2)
    assert report.status == "error"
    assert "--input-shape" in report.reason


def test_cli_json_and_exit_codes_for_keras_original():
    out = io.StringIO()
    code = run_verify_cli(
        str(PAIRS / "mlp_keras.py"),
        str(PAIRS / "mlp_torch.py"),
        "build",
        None,
        None,
        "2,8",
        None,
        3,
        to="torch",
        as_json=True,
        out=out,
    )
    data = json.loads(out.getvalue())
    assert code == 0 and data["equivalent"], data
    out = io.StringIO()
    code = run_verify_cli(
        str(PAIRS / "mlp_keras.py"),
        str(PAIRS / "mlp_torch_bad_activation.py"),
        "build",
        None,
        None,
        "2,8",
        None,
        3,
        as_json=True,
        out=out,
    )
    data = json.loads(out.getvalue())
    assert code == 1 and data["diverging_layer"]["path"] == "layers[2]", data


# --- weight converters for Keras layers ------------------------------------------------------
def _transfer(layer, module, x):
    from fwtranslate.weights.from_keras import keras_to_torch_model

    layer(x)
    with torch.no_grad():
        module(torch.as_tensor(x))
    from fwtranslate.verify.randomize import randomize_keras

    randomize_keras(layer, 3)
    keras_to_torch_model(layer, module)


def test_bidirectional_lstm_converter():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    layer = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))
    module = torch.nn.LSTM(4, 6, batch_first=True, bidirectional=True)
    _transfer(layer, module, x)
    with torch.no_grad():
        got = module(torch.as_tensor(x))[0].numpy()
    np.testing.assert_allclose(got, layer(x).numpy(), rtol=1e-4, atol=1e-5)


def test_gru_converter():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    layer = keras.layers.GRU(3, return_sequences=True)
    module = torch.nn.GRU(4, 3, batch_first=True)
    _transfer(layer, module, x)
    with torch.no_grad():
        got = module(torch.as_tensor(x))[0].numpy()
    np.testing.assert_allclose(got, layer(x).numpy(), rtol=1e-4, atol=1e-5)


def test_multihead_attention_converter():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 16)).astype("float32")
    layer = keras.layers.MultiHeadAttention(num_heads=4, key_dim=4)
    layer(x, x)
    module = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    from fwtranslate.verify.randomize import randomize_keras
    from fwtranslate.weights import registry

    randomize_keras(layer, 4)
    registry.get("multihead_attention").keras_to_torch(layer, module)
    with torch.no_grad():
        t = torch.as_tensor(x)
        got = module(t, t, t, need_weights=False)[0].numpy()
    np.testing.assert_allclose(got, layer(x, x).numpy(), rtol=1e-4, atol=1e-5)


def test_depthwise_conv_converter():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, 7, 3)).astype("float32")
    layer = keras.layers.DepthwiseConv2D(3, depth_multiplier=2)
    inner = torch.nn.Conv2d(3, 6, 3, groups=3)

    class CL(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = inner

        def forward(self, t):
            return self.module(t.movedim(-1, 1)).movedim(1, -1)

    module = CL()
    _transfer(layer, module, x)
    with torch.no_grad():
        got = module(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, layer(x).numpy(), rtol=1e-4, atol=1e-5)


def test_only_weighted_module_looks_inside_wrappers():
    from fwtranslate.weights.from_keras import only_weighted_module

    cnn = _load(PAIRS / "cnn_torch.py")
    lin = torch.nn.LazyLinear(3)
    assert only_weighted_module(torch.nn.Sequential(lin, torch.nn.ReLU())) is lin
    conv = torch.nn.LazyConv2d(4, 3)
    assert only_weighted_module(cnn.ChannelsLast(torch.nn.Sequential(cnn.KerasSamePad2d(3, 2), conv))) is conv
    with pytest.raises(ValueError, match="expected one module"):
        only_weighted_module(torch.nn.Sequential(torch.nn.LazyLinear(2), torch.nn.LazyLinear(2)))


# --- checkpoint conversion (fwtranslate weights) ---------------------------------------------
def test_checkpoint_conversion_keras_original(tmp_path):
    from fwtranslate.verify.loading import build_entry
    from fwtranslate.weights.checkpoint import convert_checkpoint

    x = np.random.default_rng(0).normal(size=(2, 9, 9, 3)).astype("float32")
    kmodel = build_entry(PAIRS / "cnn_keras.py", "CNN")
    kmodel(x)
    from fwtranslate.verify.randomize import randomize_keras

    randomize_keras(kmodel, 7)
    h5 = tmp_path / "cnn.weights.h5"
    kmodel.save_weights(str(h5))
    pt = tmp_path / "cnn.pt"
    done = convert_checkpoint(PAIRS / "cnn_keras.py", PAIRS / "cnn_torch.py", "CNN", h5, pt, input_shape="2,9,9,3")
    assert done.direction == "keras_to_torch" and done.tensors == 6
    tmodel = build_entry(PAIRS / "cnn_torch.py", "CNN")
    with torch.no_grad():
        tmodel(torch.as_tensor(x))
        tmodel.load_state_dict(torch.load(str(pt), weights_only=True))
        got = tmodel(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, kmodel(x).numpy(), rtol=1e-4, atol=1e-5)
    # and back: torch state_dict -> Keras weights
    h5_back = tmp_path / "back.weights.h5"
    back = convert_checkpoint(PAIRS / "cnn_keras.py", PAIRS / "cnn_torch.py", "CNN", pt, h5_back, input_shape="2,9,9,3")
    assert back.direction == "torch_to_keras"
    kmodel2 = build_entry(PAIRS / "cnn_keras.py", "CNN")
    kmodel2(x)
    kmodel2.load_weights(str(h5_back))
    np.testing.assert_allclose(kmodel2(x).numpy(), kmodel(x).numpy(), rtol=1e-6, atol=1e-6)


# --- the Keras samples -----------------------------------------------------------------------
SAMPLE_CASES = json.loads((SAMPLES_TF / "samples.json").read_text())


@pytest.mark.parametrize("case", SAMPLE_CASES, ids=[f"{c['file']}:{c['entry']}" for c in SAMPLE_CASES])
def test_keras_sample_builds_and_runs(case):
    module = _load(SAMPLES_TF / case["file"])
    model = getattr(module, case["entry"])()
    assert isinstance(model, keras.Model)
    shape = tuple(int(n) for n in case["input_shape"].split(","))
    rng = np.random.default_rng(0)
    if case.get("input_dtype"):
        high = int(case["input_range"].split(",")[1])
        x = rng.integers(0, high, size=shape).astype(case["input_dtype"])
    else:
        x = rng.normal(size=shape).astype("float32")
    y = model(x, training=False)
    assert tuple(y.shape) == tuple(case["output_shape"])
    assert np.isfinite(np.asarray(y)).all()
    assert model.count_params() < 1_000_000


# --- the translator's own output (--to torch), while its rules are being written --------------
@pytest.mark.parametrize(
    "file,entry,shape,dtype,value_range",
    [
        ("cnn.py", "build_cnn", "2,28,28,1", None, None),  # functional -> FunctionalModel, matched by order
        ("seq_tagger.py", "build_tagger", "2,12", "int64", "0,1000"),  # Bidirectional(LSTM) -> support modules
    ],
)
def test_translated_keras_sample_verifies(tmp_path, file, entry, shape, dtype, value_range):
    import fwtranslate

    out = tmp_path / file
    result = fwtranslate.translate_file(SAMPLES_TF / file, "torch", output=out)
    assert result.ok and out.exists(), [str(d) for d in result.diagnostics]  # every sample translates fully
    report = verify(
        SAMPLES_TF / file, out, entry, input_shape=shape, input_dtype=dtype, input_range=value_range, examples=2
    )
    assert report.equivalent, report.format_text()
