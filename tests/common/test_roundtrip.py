"""Round trips: every sample of samples/torch/ translated to Keras and back to PyTorch.

The Keras translation carries copies of the PyTorch->Keras support code (ChannelsFirstConv2D,
TorchLSTM, exact_gelu...); translating it back must drop them and turn their uses into the
PyTorch APIs they reproduce (src/fwtranslate/roundtrip.py, rules/tf_to_torch/roundtrip.yaml).
For each sample: both translations succeed without errors, the final file imports neither
keras nor tensorflow and defines none of the support code, and the round-trip model (the entry
of samples.json) builds and returns the original model's output shape.

Numbers: ``test_roundtrip_numerics`` gives the original random weights, copies them into the
round-trip model (by name where names and shapes match, then in order) and reports how many
tensors matched and the largest output difference; every tensor of the round-trip model must
get a value and the outputs must agree within 1e-5. Run with ``-s`` to see the report.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import pytest

from fwtranslate import translate, translate_file
from fwtranslate.report import ERROR
from fwtranslate.rules.loader import builtin_rules_dir
from helpers import support_sources

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "torch"
ENTRIES = {Path(e["file"]).stem: e for e in json.loads((SAMPLES / "samples.json").read_text())}
NAMES = sorted(ENTRIES)


@functools.cache
def _support_names() -> frozenset[str]:
    """The PyTorch->Keras support definitions, which a round trip must not carry back."""
    names = set()
    for path in (builtin_rules_dir() / "torch_to_tf").glob("support*.py"):
        names |= {
            n.name
            for n in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))
        }
    return frozenset(names)


@functools.cache
def _out_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fwtranslate-roundtrip-"))


@functools.cache
def round_trip(name: str):
    """(Keras translation, PyTorch translation of it, path of the final file)."""
    keras_file, torch_file = _out_dir() / f"{name}_tf.py", _out_dir() / f"{name}_rt.py"
    to_tf = translate_file(SAMPLES / f"{name}.py", "tf", output=keras_file)
    back = translate_file(keras_file, "torch", output=torch_file)
    return to_tf, back, torch_file


def _errors(result) -> list[str]:
    return [d.format() for d in result.diagnostics if d.severity == ERROR]


def _load(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(module_name, None)
    return module


def _input(entry: dict):
    import torch

    shape = tuple(int(s) for s in entry["input_shape"].split(","))
    generator = torch.Generator().manual_seed(0)
    if entry.get("input_dtype", "float32").startswith("int"):
        low, high = (int(v) for v in entry.get("input_range", "0,10").split(","))
        return torch.randint(low, high, shape, generator=generator, dtype=getattr(torch, entry["input_dtype"]))
    return torch.randn(shape, generator=generator)


def _outputs(value) -> list:
    """The tensors of a model output (a tensor, or nested tuples / lists of them)."""
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _outputs(v)]
    return []


def _build_both(name: str):
    """(original model, round-trip model, input): built with the same seed, in eval mode, the
    round-trip one called once (its Lazy modules materialise on the first call)."""
    import torch

    entry = ENTRIES[name]
    _, back, path = round_trip(name)
    assert back.ok, _errors(back)
    original = getattr(_load(SAMPLES / f"{name}.py", f"_rt_original_{name}"), entry["entry"])
    translated = getattr(_load(path, f"_rt_roundtrip_{name}"), entry["entry"])
    torch.manual_seed(0)
    model = original().eval()
    torch.manual_seed(0)
    again = translated().eval()
    x = _input(entry)
    with torch.no_grad():
        again(x)
    return model, again, x


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_translates(name):
    to_tf, back, path = round_trip(name)
    assert to_tf.ok, _errors(to_tf)
    assert back.ok and not _errors(back), "\n".join(_errors(back))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"keras", "tensorflow", "tf_keras"}, imported
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not defined & _support_names(), f"support code carried back: {sorted(defined & _support_names())}"


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_runs(name):
    import torch

    model, again, x = _build_both(name)
    with torch.no_grad():
        expected, got = _outputs(model(x)), _outputs(again(x))
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in expected]


def _randomise(model, seed: int) -> None:
    """Fresh random values in every floating-point parameter and buffer (variances positive),
    so that nothing agrees by chance (both models draw the same initial values in the same
    order) and batch-norm statistics are not the trivial (0, 1)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = (
                    torch.rand(tensor.shape, generator=generator) + 0.5
                    if key.endswith("running_var")
                    else torch.randn(tensor.shape, generator=generator) * 0.2
                )
                tensor.copy_(values.to(tensor.dtype))


def compare_numerics(name: str) -> dict:
    """Random weights in the original; copied into the round-trip model by name where names
    and shapes match, then the remaining tensors paired in order where their shapes match
    (``conv1.weight`` -> ``conv1.1.weight`` when a padding layer joined it in an nn.Sequential).
    Returns the counts and the largest absolute output difference."""
    import torch

    model, again, x = _build_both(name)
    _randomise(model, 1)
    _randomise(again, 2)
    source, target = model.state_dict(), again.state_dict()
    by_name = {k: k for k, v in source.items() if k in target and target[k].shape == v.shape}
    rest_source = [k for k in source if k not in by_name and not k.endswith("num_batches_tracked")]
    rest_target = [k for k in target if k not in by_name.values() and not k.endswith("num_batches_tracked")]
    by_order = {}
    if len(rest_source) == len(rest_target) and all(
        source[a].shape == target[b].shape for a, b in zip(rest_source, rest_target)
    ):
        by_order = dict(zip(rest_source, rest_target))
    mapping = {**by_name, **by_order}
    again.load_state_dict({mapping[k]: source[k] for k in mapping}, strict=False)
    with torch.no_grad():
        expected, got = _outputs(model(x)), _outputs(again(x))
    error = max(
        (
            float((a.double() - b.double()).abs().max())
            for a, b in zip(expected, got)
            if a.shape == b.shape and a.is_floating_point()
        ),
        default=float("nan"),
    )
    return {
        "by_name": len(by_name),
        "by_order": len(by_order),
        "original": len(source),
        "roundtrip": len(target),
        # (a native BatchNorm's step counter needs no value: it only counts with momentum=None,
        # and a translation always writes Keras' momentum)
        "unmatched_roundtrip": sorted(
            k for k in set(target) - set(mapping.values()) if not k.endswith("num_batches_tracked")
        ),
        "unmatched_original": sorted(set(source) - set(mapping)),
        "max_abs_error": error,
    }


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_numerics(name):
    result = compare_numerics(name)
    print(
        f"{name}: {result['by_name']} tensors matched by name + {result['by_order']} in order, of "
        f"{result['original']} (original) / {result['roundtrip']} (round trip); max abs error "
        f"{result['max_abs_error']:.3g}; round-trip tensors left: {result['unmatched_roundtrip']}"
    )
    # every tensor of the round trip got the original's value (so nothing agrees by chance) ...
    assert not result["unmatched_roundtrip"], result
    # ... and the round trip computes what the original computes
    assert result["max_abs_error"] < 1e-5, result


# --- the support names in other positions ---------------------------------------------------------


def _with_support(names: list[str], code: str) -> str:
    """A Keras file that carries the named support definitions, as a translation does."""
    sources = support_sources("torch_to_tf")
    return "import keras\n\n\n" + "".join(f"{sources[n]}\n\n\n" for n in names) + code


def test_channels_first_convolutions_are_keras_convolutions():
    src = _with_support(
        [
            "channels_last_conv",
            "ChannelsFirstConv1D",
            "ChannelsFirstConv2D",
            "ChannelsFirstConv3D",
            "ChannelsFirstConv2DTranspose",
        ],
        'a = ChannelsFirstConv2D(8, 3, padding="same", data_format="channels_first")\n'
        'b = ChannelsFirstConv1D(8, 3, strides=2, groups=4, use_bias=False, data_format="channels_first")\n'
        'c = ChannelsFirstConv3D(4, 3, data_format="channels_first")\n'
        'd = ChannelsFirstConv2DTranspose(4, 2, strides=2, data_format="channels_first")\n',
    )
    result = translate(src, to="torch")
    assert result.ok, _errors(result)
    assert "class ChannelsFirst" not in result.code and "def channels_last_conv" not in result.code
    values = {n.targets[0].id: ast.unparse(n.value) for n in ast.parse(result.code).body if isinstance(n, ast.Assign)}
    assert values == {
        "a": "nn.LazyConv2d(8, 3, padding='same')",
        "b": "nn.LazyConv1d(8, 3, stride=2, groups=4, bias=False)",
        "c": "nn.LazyConv3d(4, 3)",
        "d": "nn.LazyConvTranspose2d(4, 2, stride=2)",
    }


def test_exact_gelu_as_a_value():
    src = _with_support(["exact_gelu"], "act = keras.layers.Activation(exact_gelu)\ny = exact_gelu(act)\n")
    result = translate(src, to="torch")
    assert result.ok, _errors(result)
    assert "def exact_gelu" not in result.code
    values = {n.targets[0].id: ast.unparse(n.value) for n in ast.parse(result.code).body if isinstance(n, ast.Assign)}
    assert values == {"act": "KerasActivation(F.gelu)", "y": "F.gelu(act)"}
