"""Numeric parity of the torch.nn layer rules (rules/torch_to_tf/{layers_basic,conv,pooling,
normalization,activations,recurrent,attention,layers_misc}.yaml).

Each case is a torch constructor call (optionally after a few setup lines, for arguments that
are variables). The same source goes through the real translator; the translated Keras layer is
built, receives the torch weights through the rule's weight converter, and must return what the
torch module returns in eval mode on the same random input. Keras runs under XLA
(``tf.function(jit_compile=True)``) where TensorFlow's CPU kernels lack the channels-first
format (convolutions); ``keras_to_torch`` is checked by moving the weights back into a freshly
initialised torch module.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import fwtranslate
from fwtranslate.weights import registry
from helpers import translate_and_exec

PRELUDE = "import torch\nimport torch.nn as nn\n"
ATOL, RTOL = 1e-5, 1e-4


# --- shared helpers -----------------------------------------------------------------------------
def split_source(src: str) -> tuple[str, str]:
    """ "setup lines\\nexpression" -> (setup, expression)."""
    *setup, expr = src.strip().split("\n")
    return "\n".join(setup), expr


def translate_layer(src: str):
    """The Keras layer the translator makes of ``src`` (support definitions included)."""
    setup, expr = split_source(src)
    namespace, code = translate_and_exec(f"{PRELUDE}{setup}\nlayer = {expr}\n", "tf")
    return namespace["layer"], code


def randomise(module, seed: int) -> None:
    """Non-trivial parameters, and BatchNorm statistics away from (0, 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.5)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)


def build_torch(src: str, seed: int = 0):
    setup, expr = split_source(src)
    namespace = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}
    exec(setup, namespace)
    torch.manual_seed(seed)
    module = eval(expr, namespace)
    randomise(module, seed)
    return module.eval()


def has_state(module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def to_torch(value):
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(to_torch(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    return value


def to_tf(value):
    if isinstance(value, dict):
        return {k: to_tf(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(to_tf(v) for v in value)
    if isinstance(value, np.ndarray):
        return tf.constant(value)
    return value


def flatten(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in flatten(v)]
    if value is None:
        return [None]
    if isinstance(value, torch.Tensor):
        return [value.detach().numpy()]
    return [np.asarray(value)]


def keras_call(layer, jit: bool):
    def call(args, kwargs):
        return layer(*args, **kwargs, training=False)

    return tf.function(call, jit_compile=True) if jit else call


def assert_close(torch_out, keras_out, what: str, atol: float = ATOL, rtol: float = RTOL) -> None:
    expected, got = flatten(torch_out), flatten(keras_out)
    assert len(expected) == len(got), f"{what}: {len(expected)} torch outputs, {len(got)} Keras outputs"
    for i, (e, g) in enumerate(zip(expected, got)):
        if e is None or g is None:
            assert e is None and g is None, f"{what}[{i}]: torch {e is None and 'None'}, Keras {g is None and 'None'}"
            continue
        assert e.shape == g.shape, f"{what}[{i}]: torch shape {e.shape}, Keras shape {g.shape}"
        err = float(np.max(np.abs(e - g))) if e.size else 0.0
        assert np.allclose(e, g, atol=atol, rtol=rtol, equal_nan=True), f"{what}[{i}]: max abs error {err:.3g}"


def transfer(module, layer) -> str | None:
    name = registry.converter_name_for(module)
    if has_state(module):
        assert name, f"{type(module).__name__} has parameters but its rule names no weight converter"
        registry.get(name).torch_to_keras(module, layer)
    return name


def check_layer(
    src: str, make_inputs, jit: bool = False, grad: bool = False, atol: float = ATOL, rtol: float = RTOL, seed: int = 0
):
    """Translate ``src``, move the weights, compare eval outputs (and input gradients)."""
    rng = np.random.default_rng(seed)
    args, kwargs = make_inputs(rng)
    module = build_torch(src, seed)
    layer, code = translate_layer(src)
    call = keras_call(layer, jit)
    if jit:  # build symbolically: no TensorFlow kernel runs, nothing is compiled twice
        layer(*(keras.KerasTensor(a.shape, dtype=str(a.dtype)) for a in args), **kwargs)
    else:
        call(to_tf(args), to_tf(kwargs))
    name = transfer(module, layer)
    with torch.no_grad():
        expected = module(*to_torch(args), **to_torch(kwargs))
    got = call(to_tf(args), to_tf(kwargs))
    assert_close(expected, got, f"{src} output\n{code}", atol, rtol)
    if grad:
        check_input_gradient(module, layer, args, kwargs, jit, rng, src, atol, rtol)
    if name:
        check_round_trip(src, module, layer, name, args, kwargs, expected, seed)
    return module, layer


def check_input_gradient(module, layer, args, kwargs, jit, rng, src, atol, rtol):
    """d/dx of sum(output * r) for a random r: the backward passes agree too."""
    x = torch.from_numpy(args[0].copy()).requires_grad_(True)
    out = module(x, *to_torch(args[1:]), **to_torch(kwargs))
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, torch.Tensor)]
    weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in outs]
    sum(((o * torch.from_numpy(w)).sum() for o, w in zip(outs, weights))).backward()

    def keras_grad(x_tf, rest):
        with tf.GradientTape() as tape:
            tape.watch(x_tf)
            result = layer(x_tf, *rest, **to_tf(kwargs), training=False)
            result = [r for r in (result if isinstance(result, tuple) else (result,)) if r is not None]
            loss = tf.add_n([tf.reduce_sum(r * w) for r, w in zip(result, weights)])
        return tape.gradient(loss, x_tf)

    fn = tf.function(keras_grad, jit_compile=True) if jit else keras_grad
    got = fn(tf.constant(args[0]), to_tf(tuple(args[1:])))
    assert_close(x.grad, got, f"{src} input gradient", atol * 10, rtol * 10)


def check_round_trip(src, module, layer, name, args, kwargs, expected, seed):
    """keras_to_torch into a differently initialised module gives back the same function."""
    fresh = build_torch(src, seed + 1)
    registry.get(name).keras_to_torch(layer, fresh)
    with torch.no_grad():
        again = fresh(*to_torch(args), **to_torch(kwargs))
    assert_close(expected, again, f"{src} after keras_to_torch")


def randn(*shape):
    return lambda rng: ((rng.standard_normal(shape).astype(np.float32),), {})


def case(src, inputs, **options):
    return pytest.param(src, inputs, options, id=src.replace("\n", "; "))


# --- convolutions (XLA: NCHW convolutions have no TensorFlow CPU kernel) -----------------------
CONV_CASES = [
    case("nn.Conv1d(4, 6, 3)", randn(2, 4, 12), grad=True),
    case("nn.Conv1d(4, 6, 3, stride=2, padding=1)", randn(2, 4, 13)),
    case("nn.Conv1d(4, 8, 3, padding=1, groups=4, bias=False)", randn(2, 4, 9)),
    case("nn.Conv1d(4, 4, 5, padding=2, groups=4)", randn(2, 4, 9)),
    case("nn.Conv1d(4, 6, 3, padding=2, dilation=2)", randn(2, 4, 11)),
    case("nn.Conv1d(4, 6, 4, padding='same')", randn(2, 4, 10)),
    case("nn.Conv1d(4, 6, 3, padding=(2,))", randn(2, 4, 10)),
    case("nn.Conv1d(4, 6, 3, padding=1, padding_mode='circular')", randn(2, 4, 10)),
    case("nn.Conv1d(4, 6, 3, padding=2, padding_mode='reflect')", randn(2, 4, 10)),
    case("nn.Conv1d(3, 8, 3)", randn(2, 3, 10)),  # output length == filters (Keras bias-axis bug)
    case("nn.Conv2d(3, 8, 3)", randn(2, 3, 7, 10), grad=True),  # output width == filters
    case("nn.Conv2d(3, 8, 3, stride=2, padding=1)", randn(2, 3, 9, 10), grad=True),
    case("nn.Conv2d(3, 8, 3, padding=1)", randn(2, 3, 8, 8)),
    case("nn.Conv2d(3, 8, (3, 5), padding=(1, 2))", randn(2, 3, 7, 9)),
    case("nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(0, 1))", randn(2, 3, 9, 9)),
    case("nn.Conv2d(4, 8, 3, padding=1, groups=2)", randn(2, 4, 6, 7), grad=True),
    case("nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)", randn(2, 4, 6, 7)),
    case("nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=4)", randn(2, 4, 9, 8)),
    case("nn.Conv2d(3, 8, 3, padding=2, dilation=2)", randn(2, 3, 9, 9)),
    case("nn.Conv2d(3, 8, 3, padding=1, dilation=2)", randn(2, 3, 9, 9)),
    case("nn.Conv2d(3, 8, 4, padding='same')", randn(2, 3, 7, 8)),
    case("nn.Conv2d(3, 8, 3, padding='same', dilation=(1, 2))", randn(2, 3, 7, 8)),
    case("nn.Conv2d(3, 8, 3, stride=3, padding='valid')", randn(2, 3, 10, 11)),
    case("nn.Conv2d(3, 8, 2, stride=2)", randn(2, 3, 8, 9)),
    case("nn.Conv2d(3, 8, 1)", randn(2, 3, 5, 8)),
    case("nn.Conv2d(3, 8, 3, padding=1, padding_mode='reflect')", randn(2, 3, 6, 7)),
    case("nn.Conv2d(3, 8, 3, padding=(1, 2), padding_mode='replicate')", randn(2, 3, 6, 7)),
    case("nn.Conv2d(3, 8, 3, stride=2, padding=1, padding_mode='circular')", randn(2, 3, 6, 7)),
    case("k = 5\nnn.Conv2d(3, 8, k, stride=2, padding=k // 2)", randn(2, 3, 9, 9)),
    case("p = 0\nnn.Conv2d(3, 8, 3, padding=p)", randn(2, 3, 6, 6)),
    # padding and padding_mode known only at run time: conv_layer_for decides there, as the
    # translation would for literals (the padding='same' + reflect combination raises then)
    case("p = 1\nnn.Conv2d(3, 8, 3, padding=p, padding_mode='reflect')", randn(2, 3, 6, 7)),
    case("p = 1\nm = 'zeros'\nnn.Conv2d(3, 8, 3, stride=2, padding=p, padding_mode=m)", randn(2, 3, 9, 8)),
    case("nn.Conv3d(2, 4, 3, padding=1)", randn(1, 2, 5, 6, 7)),
    case("nn.Conv3d(2, 4, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))", randn(1, 2, 4, 7, 8)),
    case("nn.Conv3d(2, 4, 3, stride=2, groups=2)", randn(1, 2, 7, 7, 7)),
    case("nn.ConvTranspose1d(4, 3, 3, stride=2)", randn(2, 4, 6)),
    case("nn.ConvTranspose1d(4, 3, 4, stride=2, padding=1)", randn(2, 4, 6), grad=True),
    case("nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1)", randn(2, 4, 6)),
    case("nn.ConvTranspose1d(4, 3, 2, stride=3)", randn(2, 4, 5)),  # kernel < stride
    case("nn.ConvTranspose2d(4, 3, 2, stride=2)", randn(2, 4, 5, 6), grad=True),
    case("nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)", randn(2, 4, 5, 6), grad=True),
    case("nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)", randn(2, 4, 5, 6)),
    case("nn.ConvTranspose2d(4, 3, 3, stride=2, output_padding=1, bias=False)", randn(2, 4, 5, 6)),
    case("nn.ConvTranspose2d(4, 3, (3, 5), stride=(2, 1), padding=(1, 2))", randn(2, 4, 5, 6)),
    case("nn.ConvTranspose2d(4, 3, 3, padding=2, dilation=2)", randn(2, 4, 6, 7)),
    case("nn.ConvTranspose2d(4, 3, 1, stride=3, output_padding=2)", randn(2, 4, 4, 5)),
    case("nn.ConvTranspose2d(4, 3, 5, stride=3, padding=2, output_padding=2)", randn(2, 4, 4, 5)),
    case("nn.ConvTranspose2d(4, 5, 3)", randn(2, 4, 4, 3)),  # output width == filters
    case("p = 1\nnn.ConvTranspose2d(4, 3, 4, 2, p)", randn(2, 4, 3, 4)),
    case("nn.ConvTranspose3d(2, 3, 2, stride=2)", randn(1, 2, 3, 4, 3)),
    case("nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1, output_padding=1)", randn(1, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("src,inputs,options", CONV_CASES)
def test_convolution(src, inputs, options):
    check_layer(src, inputs, jit=True, **options)


# --- pooling ------------------------------------------------------------------------------------
POOL_CASES = [
    case("nn.MaxPool1d(2)", randn(2, 3, 9)),
    case("nn.MaxPool1d(3, stride=2, padding=1)", randn(2, 3, 10)),
    case("nn.MaxPool1d(3, stride=2, ceil_mode=True)", randn(2, 3, 10)),
    case("nn.MaxPool2d(2)", randn(2, 3, 8, 9), grad=True),
    case("nn.MaxPool2d(3, 2)", randn(2, 3, 9, 10)),
    case("nn.MaxPool2d(3, stride=2, padding=1)", randn(2, 3, 9, 10), grad=True),
    case("nn.MaxPool2d(3, stride=2, ceil_mode=True)", randn(2, 3, 8, 10)),
    case("nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", randn(2, 3, 8, 7)),
    case("nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 0))", randn(2, 3, 6, 7)),
    case("nn.MaxPool2d(2, ceil_mode=True)", randn(1, 2, 5, 5)),
    case("nn.MaxPool3d(2)", randn(1, 2, 4, 5, 6)),
    case("nn.MaxPool3d(3, 2, 1)", randn(1, 2, 5, 5, 6)),
    case("nn.AvgPool1d(2)", randn(2, 3, 9)),
    case("nn.AvgPool1d(3, 2, 1)", randn(2, 3, 10)),
    case("nn.AvgPool1d(3, 2, 1, count_include_pad=False)", randn(2, 3, 10)),
    case("nn.AvgPool1d(3, 2, ceil_mode=True)", randn(2, 3, 10)),
    case("nn.AvgPool2d(2)", randn(2, 3, 8, 9), grad=True),
    case("nn.AvgPool2d(3, stride=2, padding=1)", randn(2, 3, 9, 10)),
    case("nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)", randn(2, 3, 9, 10), grad=True),
    case("nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)", randn(2, 3, 8, 10)),
    case("nn.AvgPool2d(3, stride=2, ceil_mode=True, count_include_pad=False)", randn(2, 3, 8, 10)),
    case("nn.AvgPool2d(2, divisor_override=3)", randn(2, 3, 6, 6)),
    case("nn.AvgPool3d(2)", randn(1, 2, 4, 5, 6)),
    case("nn.AvgPool3d(3, 1, 1, count_include_pad=False)", randn(1, 2, 4, 4, 5)),
    case("nn.AdaptiveAvgPool1d(1)", randn(2, 3, 9)),
    case("nn.AdaptiveAvgPool1d(4)", randn(2, 3, 10)),
    case("nn.AdaptiveMaxPool1d(3)", randn(2, 3, 10)),
    case("nn.AdaptiveAvgPool2d(1)", randn(2, 3, 7, 9), grad=True),
    case("nn.AdaptiveAvgPool2d((1, 1))", randn(2, 3, 7, 9)),
    case("nn.AdaptiveAvgPool2d((3, 4))", randn(2, 3, 7, 9), grad=True),
    case("nn.AdaptiveAvgPool2d(5)", randn(2, 3, 4, 7)),  # output larger than the input along H
    case("nn.AdaptiveAvgPool2d((None, 3))", randn(2, 3, 5, 7)),
    case("nn.AdaptiveAvgPool2d((1, 4))", randn(2, 3, 5, 7)),
    case("nn.AdaptiveMaxPool2d(1)", randn(2, 3, 7, 9)),
    case("nn.AdaptiveMaxPool2d((2, 3))", randn(2, 3, 7, 9)),
    case("nn.AdaptiveMaxPool2d((3, 1))", randn(2, 3, 7, 9)),
    case("nn.AdaptiveAvgPool3d(1)", randn(1, 2, 3, 4, 5)),
    case("nn.AdaptiveAvgPool3d((1, 2, 2))", randn(1, 2, 3, 4, 5)),
    case("s = 3\nnn.AdaptiveMaxPool2d(s)", randn(2, 3, 7, 8)),
]


@pytest.mark.parametrize("src,inputs,options", POOL_CASES)
def test_pooling(src, inputs, options):
    check_layer(src, inputs, **options)


# --- normalization ------------------------------------------------------------------------------
NORM_CASES = [
    case("nn.BatchNorm1d(6)", randn(4, 6)),
    case("nn.BatchNorm1d(6)", randn(4, 6, 5), grad=True),
    case("nn.BatchNorm2d(4)", randn(2, 4, 5, 4), grad=True),
    case("nn.BatchNorm2d(4, eps=1e-3, momentum=0.3)", randn(2, 4, 3, 5)),
    case("nn.BatchNorm2d(4, affine=False)", randn(2, 4, 3, 5)),
    case("nn.BatchNorm3d(3)", randn(2, 3, 2, 3, 4)),
    case("nn.LayerNorm(8)", randn(2, 5, 8), grad=True),
    case("nn.LayerNorm((5, 8))", randn(2, 5, 8)),
    case("nn.LayerNorm([3, 5, 8], eps=1e-6)", randn(2, 3, 5, 8)),
    case("nn.LayerNorm(8, elementwise_affine=False)", randn(2, 5, 8)),
    case("nn.LayerNorm(8, bias=False)", randn(2, 5, 8)),
    case("d = (5, 8)\nnn.LayerNorm(d)", randn(2, 5, 8)),
    case("nn.GroupNorm(2, 6)", randn(2, 6, 4, 5), grad=True),
    case("nn.GroupNorm(3, 6, affine=False)", randn(2, 6, 7)),
    case("nn.GroupNorm(1, 4, eps=1e-3)", randn(2, 4, 3, 3)),
    case("nn.InstanceNorm1d(4)", randn(2, 4, 9)),
    case("nn.InstanceNorm2d(4)", randn(2, 4, 5, 6), grad=True),
    case("nn.InstanceNorm2d(4, affine=True)", randn(2, 4, 5, 6)),
    case("nn.InstanceNorm3d(2)", randn(2, 2, 3, 4, 5)),
    case("nn.RMSNorm(8)", randn(2, 5, 8), grad=True),
    case("nn.RMSNorm((5, 8), eps=1e-6)", randn(2, 5, 8)),
]


@pytest.mark.parametrize("src,inputs,options", NORM_CASES)
def test_normalization(src, inputs, options):
    check_layer(src, inputs, **options)


def test_batchnorm_training_step():
    """Training mode: batch statistics for the output, and momentum = 1 - torch's momentum for
    the moving statistics (Keras updates the moving variance with the biased batch variance,
    torch with the unbiased one: the rule's doc says so)."""
    src = "nn.BatchNorm2d(4, momentum=0.3)"
    module = build_torch(src).train()
    layer, _ = translate_layer(src)
    x = np.random.default_rng(1).standard_normal((8, 4, 3, 3)).astype(np.float32)
    layer(x, training=False)
    transfer(module, layer)
    expected = module(torch.from_numpy(x))
    got = layer(tf.constant(x), training=True)
    assert_close(expected, got, "training-mode output")
    assert_close(module.running_mean, layer.moving_mean.numpy(), "moving mean after one step")
    n = x.size // x.shape[1]
    assert_close(
        module.running_var,
        layer.moving_variance.numpy() + 0.3 * np.var(x, axis=(0, 2, 3)) * (n / (n - 1) - 1),
        "moving variance after one step",
    )


# --- activations --------------------------------------------------------------------------------
ACTIVATION_CASES = [
    case("nn.ReLU()", randn(2, 3, 4), grad=True),
    case("nn.ReLU6()", lambda rng: ((rng.standard_normal((2, 3, 4)).astype(np.float32) * 5,), {})),
    case("nn.LeakyReLU()", randn(2, 3, 4)),
    case("nn.LeakyReLU(0.2, inplace=True)", randn(2, 3, 4)),
    case("nn.PReLU()", randn(2, 3, 4, 5), grad=True),
    case("nn.PReLU(3)", randn(2, 3, 4, 5), grad=True),
    case("nn.PReLU(3, init=0.1)", randn(4, 3)),
    case("nn.ELU()", randn(2, 3, 4)),
    case("nn.ELU(alpha=0.5)", randn(2, 3, 4)),
    case("nn.CELU()", randn(2, 3, 4)),
    case("nn.SELU()", randn(2, 3, 4)),
    case("nn.GELU()", randn(2, 3, 4), grad=True),
    case("nn.GELU(approximate='tanh')", randn(2, 3, 4), grad=True),
    case("nn.SiLU()", randn(2, 3, 4)),
    case("nn.Mish()", randn(2, 3, 4)),
    case("nn.Hardswish()", lambda rng: ((np.linspace(-5, 5, 41, dtype=np.float32)[None],), {})),
    case("nn.Hardsigmoid()", lambda rng: ((np.linspace(-5, 5, 41, dtype=np.float32)[None],), {})),
    case("nn.Hardtanh()", lambda rng: ((rng.standard_normal((2, 8)).astype(np.float32) * 2,), {})),
    case("nn.Hardtanh(0.0, 6.0)", lambda rng: ((rng.standard_normal((2, 8)).astype(np.float32) * 5,), {})),
    case("nn.Sigmoid()", randn(2, 3, 4)),
    case("nn.Tanh()", randn(2, 3, 4)),
    case("nn.Softsign()", randn(2, 3, 4)),
    case("nn.Tanhshrink()", randn(2, 3, 4)),
    case("nn.LogSigmoid()", randn(2, 3, 4)),
    case("nn.Hardshrink()", randn(2, 3, 4)),
    case("nn.Softshrink()", randn(2, 3, 4)),
    case("nn.Softplus()", lambda rng: ((rng.standard_normal((2, 8)).astype(np.float32) * 15,), {})),
    case(
        "nn.Softplus(beta=2.0, threshold=5.0)", lambda rng: ((rng.standard_normal((2, 8)).astype(np.float32) * 5,), {})
    ),
    case("nn.Softmax(dim=-1)", randn(2, 3, 4), grad=True),
    case("nn.Softmax(1)", randn(2, 3, 4)),
    case("nn.Softmax2d()", randn(2, 3, 4, 5)),
    case("nn.LogSoftmax(dim=-1)", randn(2, 3, 4)),
    case("nn.LogSoftmax(dim=1)", randn(2, 3, 4)),
    case("nn.GLU()", randn(2, 3, 4)),
]


@pytest.mark.parametrize("src,inputs,options", ACTIVATION_CASES)
def test_activation(src, inputs, options):
    check_layer(src, inputs, **options)


# --- dropout, embedding, reshaping, upsampling, padding, linear ----------------------------------
def token_ids(*shape, high=10):
    return lambda rng: ((rng.integers(0, high, shape).astype(np.int64),), {})


MISC_CASES = [
    case("nn.Linear(5, 3)", randn(2, 4, 5), grad=True),
    case("nn.Linear(5, 3, bias=False)", randn(4, 5)),
    case("nn.Identity()", randn(2, 3)),
    case("nn.Dropout(0.3)", randn(2, 3, 4)),
    case("nn.Dropout1d(0.3)", randn(2, 3, 4)),
    case("nn.Dropout2d(0.3)", randn(2, 3, 4, 5)),
    case("nn.Dropout3d(0.3)", randn(2, 3, 4, 5, 2)),
    case("nn.AlphaDropout(0.3)", randn(2, 3, 4)),
    case("nn.Embedding(10, 4)", token_ids(2, 5)),
    case("nn.Embedding(10, 4, padding_idx=0)", token_ids(3, 7)),
    case("nn.Flatten()", randn(2, 3, 4, 5), grad=True),
    case("nn.Flatten(2)", randn(2, 3, 4, 5)),
    case("nn.Flatten(0, 1)", randn(2, 3, 4, 5)),
    case("nn.Flatten(1, 2)", randn(2, 3, 4, 5)),
    case("nn.Unflatten(1, (3, 4))", randn(2, 12, 5)),
    case("nn.Upsample(scale_factor=2)", randn(2, 3, 4, 5)),
    case("nn.Upsample(scale_factor=3, mode='nearest')", randn(2, 3, 6)),
    case("nn.Upsample(scale_factor=1.5)", randn(2, 3, 5, 7)),
    case("nn.Upsample(size=(7, 4))", randn(2, 3, 5, 7)),
    case("nn.Upsample(size=(7, 9), mode='nearest-exact')", randn(2, 3, 5, 7)),
    case("nn.Upsample(scale_factor=2, mode='bilinear')", randn(2, 3, 4, 5), grad=True),
    case("nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)", randn(2, 3, 4, 5)),
    case("nn.Upsample(size=(3, 8), mode='bilinear')", randn(2, 3, 5, 6)),
    case("nn.Upsample(scale_factor=(1.7, 0.6), mode='bilinear')", randn(2, 3, 5, 7)),
    case("nn.Upsample(scale_factor=1.7, mode='bilinear', recompute_scale_factor=True)", randn(2, 3, 5, 7)),
    case("nn.Upsample(scale_factor=3, mode='linear', align_corners=False)", randn(2, 3, 5)),
    case("nn.Upsample(scale_factor=2, mode='trilinear')", randn(1, 2, 3, 4, 3)),
    case("nn.UpsamplingNearest2d(scale_factor=2)", randn(2, 3, 4, 5)),
    case("nn.UpsamplingNearest2d(size=(6, 9))", randn(2, 3, 4, 5)),
    case("nn.UpsamplingBilinear2d(scale_factor=2)", randn(2, 3, 4, 5), grad=True),
    case("nn.PixelShuffle(2)", randn(2, 8, 3, 4), grad=True),
    case("nn.PixelUnshuffle(2)", randn(2, 2, 6, 4)),
    case("nn.ZeroPad1d((1, 3))", randn(2, 3, 4)),
    case("nn.ZeroPad2d(1)", randn(2, 3, 4, 5)),
    case("nn.ZeroPad2d((1, 2, 3, 0))", randn(2, 3, 4, 5)),
    case("pad = (2, 0, 1, 1)\nnn.ZeroPad2d(pad)", randn(2, 3, 4, 5)),
    case("nn.ZeroPad3d((1, 0, 0, 2, 1, 1))", randn(1, 2, 3, 4, 5)),
    case("nn.ConstantPad1d(2, 3.5)", randn(2, 3, 4)),
    case("nn.ConstantPad2d((1, 0, 2, 0), -1.0)", randn(2, 3, 4, 5)),
    case("nn.ReflectionPad1d((2, 1))", randn(2, 3, 4)),
    case("nn.ReflectionPad2d((1, 2, 2, 0))", randn(2, 3, 4, 5), grad=True),
    case("nn.ReplicationPad2d(2)", randn(2, 3, 4, 5)),
    case("nn.ReplicationPad3d((1, 0, 2, 1, 0, 1))", randn(1, 2, 3, 4, 5)),
    case("nn.CircularPad2d((1, 2, 0, 1))", randn(2, 3, 4, 5)),
]


@pytest.mark.parametrize("src,inputs,options", MISC_CASES)
def test_misc_layer(src, inputs, options):
    check_layer(src, inputs, **options)


@pytest.mark.parametrize(
    "src,shape,channel_axes",
    [
        ("nn.Dropout1d(0.5)", (4, 16, 32), (0, 1)),
        ("nn.Dropout2d(0.5)", (4, 16, 6, 6), (0, 1)),
        ("nn.Dropout3d(0.5)", (4, 16, 3, 3, 3), (0, 1)),
    ],
)
def test_channel_dropout_training(src, shape, channel_axes):
    """In training, whole (batch, channel) slices are dropped and the rest scaled by 1 / (1 - p)."""
    layer, _ = translate_layer(src)
    x = np.ones(shape, np.float32)
    y = np.asarray(layer(x, training=True))
    spatial = tuple(range(2, len(shape)))
    per_channel = y.reshape(shape[0] * shape[1], -1)
    assert np.all((per_channel == 0).all(axis=1) | (per_channel == 2.0).all(axis=1)), spatial
    assert 0 < (per_channel == 0).all(axis=1).mean() < 1


# --- recurrent layers ---------------------------------------------------------------------------
def sequence(*shape, state=None):
    """A random input, and an initial state of the given shapes (a tuple for LSTM's (h, c))."""

    def make(rng):
        x = rng.standard_normal(shape).astype(np.float32)
        if state is None:
            return (x,), {}
        if isinstance(state[0], tuple):
            return (x, tuple(rng.standard_normal(s).astype(np.float32) for s in state)), {}
        return (x, rng.standard_normal(state).astype(np.float32)), {}

    return make


RECURRENT_CASES = [
    case("nn.LSTM(4, 5)", sequence(6, 2, 4), grad=True),
    case("nn.LSTM(4, 5, batch_first=True)", sequence(2, 6, 4)),
    case("nn.LSTM(4, 5, num_layers=2)", sequence(6, 2, 4)),
    case("nn.LSTM(4, 5, bidirectional=True)", sequence(6, 2, 4), grad=True),
    case("nn.LSTM(4, 5, 2, batch_first=True, bidirectional=True, dropout=0.2)", sequence(2, 6, 4)),
    case("nn.LSTM(4, 5, bias=False)", sequence(6, 2, 4)),
    case("nn.LSTM(4, 5, 2, bidirectional=True)", sequence(6, 2, 4, state=((4, 2, 5), (4, 2, 5)))),
    case("nn.LSTM(4, 5)", sequence(6, 4)),  # unbatched
    case("nn.GRU(4, 5)", sequence(6, 2, 4), grad=True),
    case("nn.GRU(4, 5, batch_first=True)", sequence(2, 6, 4)),
    case("nn.GRU(4, 5, num_layers=2, bidirectional=True)", sequence(6, 2, 4), grad=True),
    case("nn.GRU(4, 5, bias=False, batch_first=True)", sequence(2, 6, 4)),
    case("nn.GRU(4, 5, 2, batch_first=True)", sequence(2, 6, 4, state=(2, 2, 5))),
    case("nn.RNN(4, 5)", sequence(6, 2, 4), grad=True),
    case("nn.RNN(4, 5, 2, 'relu', batch_first=True, bidirectional=True)", sequence(2, 6, 4)),
    case("nn.RNN(4, 5, bias=False)", sequence(6, 2, 4, state=(1, 2, 5))),
]


@pytest.mark.parametrize("src,inputs,options", RECURRENT_CASES)
def test_recurrent(src, inputs, options):
    check_layer(src, inputs, **options)


# --- attention ----------------------------------------------------------------------------------
def attention_inputs(L, S, N, E, batch_first=False, kdim=None, vdim=None, **kwargs):
    def make(rng):
        def seq(length, dim):
            shape = (N, length, dim) if batch_first else (length, N, dim)
            return rng.standard_normal(shape if N else (length, dim)).astype(np.float32)

        args = (seq(L, E), seq(S, kdim or E), seq(S, vdim or E))
        extra = {}
        for name, value in kwargs.items():
            extra[name] = value(rng) if callable(value) else value
        return args, extra

    return make


def padding_mask(N, S):
    return lambda rng: np.arange(S)[None, :] >= rng.integers(1, S + 1, (N, 1))


ATTENTION_CASES = [
    case("nn.MultiheadAttention(8, 2)", attention_inputs(5, 5, 2, 8), grad=True),
    case("nn.MultiheadAttention(8, 2, batch_first=True)", attention_inputs(5, 7, 2, 8, batch_first=True), grad=True),
    case("nn.MultiheadAttention(8, 4, bias=False)", attention_inputs(5, 6, 2, 8)),
    case("nn.MultiheadAttention(8, 2, dropout=0.1, kdim=6, vdim=3)", attention_inputs(5, 6, 2, 8, kdim=6, vdim=3)),
    case("nn.MultiheadAttention(8, 2)", attention_inputs(4, 6, 3, 8, average_attn_weights=False)),
    case("nn.MultiheadAttention(8, 2)", attention_inputs(4, 6, 3, 8, need_weights=False)),
    case("nn.MultiheadAttention(8, 2)", attention_inputs(4, 6, 3, 8, key_padding_mask=padding_mask(3, 6))),
    case(
        "nn.MultiheadAttention(8, 2)",
        attention_inputs(4, 6, 3, 8, key_padding_mask=lambda rng: rng.standard_normal((3, 6)).astype(np.float32)),
    ),
    case(
        "nn.MultiheadAttention(8, 2, batch_first=True)",
        attention_inputs(5, 5, 2, 8, batch_first=True, attn_mask=np.triu(np.ones((5, 5), bool), 1)),
    ),
    case(
        "nn.MultiheadAttention(8, 2, batch_first=True)",
        attention_inputs(5, 5, 2, 8, batch_first=True, attn_mask=np.triu(np.ones((5, 5), bool), 1), is_causal=True),
    ),
    case(
        "nn.MultiheadAttention(8, 2)",
        attention_inputs(
            4,
            5,
            2,
            8,
            attn_mask=lambda rng: rng.standard_normal((4, 4, 5)).astype(np.float32),
            key_padding_mask=padding_mask(2, 5),
        ),
    ),
    case("nn.MultiheadAttention(8, 2)", attention_inputs(4, 5, 0, 8)),  # unbatched
]


@pytest.mark.parametrize("src,inputs,options", ATTENTION_CASES)
def test_multihead_attention(src, inputs, options):
    check_layer(src, inputs, **options)


# --- what must not translate --------------------------------------------------------------------
@pytest.mark.parametrize(
    "src",
    [
        "nn.Conv2d(3, 8, 3, stride=2, dilation=2)",
        "nn.ConvTranspose2d(4, 4, 3, groups=2)",
        "nn.BatchNorm2d(4, momentum=None)",
        "nn.BatchNorm2d(4, track_running_stats=False)",
        "nn.InstanceNorm2d(4, track_running_stats=True)",
        "nn.MaxPool2d(2, dilation=2)",
        "nn.MaxPool2d(2, return_indices=True)",
        "nn.Embedding(10, 4, max_norm=1.0)",
        "nn.Softmax()",
        "nn.LSTM(4, 5, proj_size=2)",
        "nn.MultiheadAttention(8, 2, add_bias_kv=True)",
        "nn.Upsample(scale_factor=2, mode='bicubic')",
        "nn.RMSNorm(8, elementwise_affine=False)",
        "nn.Conv2d(3, 8, 3, padding='same', padding_mode='reflect')",
    ],
)
def test_untranslatable_arguments_are_errors(src):
    setup, expr = split_source(src)
    result = fwtranslate.translate(f"{PRELUDE}{setup}\nlayer = {expr}\n")
    assert not result.ok, result.code


@pytest.mark.parametrize(
    "src",
    [
        "s = 2\nnn.Conv2d(3, 8, 3, stride=s, padding=1)",  # dilation is 1: no stride/dilation clash
        "k = 3\nnn.Conv2d(3, 8, k, padding=k // 2)",  # padding_mode is "zeros"
        "nn.BatchNorm2d(8)",
    ],
)
def test_no_spurious_diagnostics(src):
    """Conditions that a known argument decides (and/or with an unknown one) raise no warning."""
    setup, expr = split_source(src)
    result = fwtranslate.translate(f"{PRELUDE}{setup}\nlayer = {expr}\n")
    # a module-level layer may get the layout analysis' info note, never a warning about its arguments
    noted = [d for d in result.diagnostics if d.code != "layout"]
    assert result.ok and not noted, [d.format() for d in noted]


# --- support layers serialize ------------------------------------------------------------------
@pytest.mark.parametrize(
    "src,shape",
    [
        ("nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)", (1, 4, 3, 3)),
        ("nn.MaxPool2d(3, 2, 1, ceil_mode=True)", (1, 2, 5, 5)),
        ("nn.AvgPool2d(3, 2, 1, count_include_pad=False)", (1, 2, 5, 5)),
        ("nn.AdaptiveAvgPool2d((None, 2))", (1, 2, 5, 5)),
        ("nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)", (1, 2, 3, 3)),
        ("nn.PReLU(2)", (1, 2, 3)),
        ("nn.GRU(3, 4, 2, bidirectional=True)", (5, 1, 3)),
        ("nn.RNN(3, 4, nonlinearity='relu')", (5, 1, 3)),
    ],
)
def test_support_layer_config_round_trip(src, shape):
    """get_config carries every constructor argument: from_config rebuilds the same layer."""
    layer, _ = translate_layer(src)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    call = keras_call(layer, jit="Conv" in type(layer).__name__)
    expected = call((tf.constant(x),), {})
    clone = type(layer).from_config(layer.get_config())
    clone_call = keras_call(clone, jit="Conv" in type(layer).__name__)
    clone_call((tf.constant(x),), {})
    clone.set_weights(layer.get_weights())
    assert_close(expected, clone_call((tf.constant(x),), {}), f"{src} from_config")
