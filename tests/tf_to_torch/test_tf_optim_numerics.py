"""Keras optimizers and learning-rate schedules translated to PyTorch compute Keras' update.

Each case builds the real Keras optimizer on float64 keras.Variables, translates the same
constructor with the real translator, runs the translation with PARAMS bound to float64 torch
parameters of the same values, feeds both the same seeded gradients (Keras: apply_gradients;
torch: .grad and step()) and compares the parameters after the first step and after 20.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import fwtranslate

STEPS = 20
SHAPES = [(2, 2, 3), (4,)]  # Adafactor factors the last two axes of rank >= 2 only
RTOL, ATOL = 1e-9, 1e-12

SCHEDULES = "keras.optimizers.schedules"
# Keras' TensorFlow backend turns a Python float it casts (ops.cast(0.9, "float64"): SGD's momentum,
# Adam's betas in beta**t, weight_decay, a schedule's Python-float initial rate) into float32 first;
# a float32 model computes in float32 anyway, but these float64 comparisons use hyperparameters that
# float32 represents exactly (0.875, 2**-20...) and float64 initial rates (np.float64) for
# schedules. The default values are checked by test_defaults_match_keras and in float32 runs.
F64 = "np.float64"
# (id, Keras constructor expression): every option that changes the rule
OPTIMIZERS = [
    ("sgd", "keras.optimizers.SGD(0.1)"),
    ("sgd-momentum", "keras.optimizers.SGD(0.1, momentum=0.875)"),
    ("sgd-nesterov", "keras.optimizers.SGD(0.1, momentum=0.875, nesterov=True)"),
    ("sgd-nesterov-no-momentum", "keras.optimizers.SGD(0.1, nesterov=True)"),
    ("sgd-weight-decay", "keras.optimizers.SGD(0.1, momentum=0.5, weight_decay=0.125)"),
    ("sgd-clipnorm", "keras.optimizers.SGD(0.1, clipnorm=0.5)"),
    ("sgd-clipvalue", "keras.optimizers.SGD(0.1, clipvalue=0.25)"),
    ("sgd-global-clipnorm", "keras.optimizers.SGD(0.1, global_clipnorm=0.75)"),
    ("sgd-loss-scale", "keras.optimizers.SGD(0.1, loss_scale_factor=8.0)"),
    ("sgd-accumulation", "keras.optimizers.SGD(0.1, momentum=0.875, gradient_accumulation_steps=3)"),
    ("sgd-ema", "keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.75, ema_overwrite_frequency=3)"),
    ("sgd-callable-lr", "keras.optimizers.SGD(learning_rate=lambda: 0.125, momentum=0.875)"),
    ("adam", "keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=0.998046875, epsilon=2**-20)"),
    ("adam-amsgrad", "keras.optimizers.Adam(0.01, beta_1=0.75, beta_2=0.984375, epsilon=2**-10, amsgrad=True)"),
    ("adam-weight-decay", "keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=0.984375, weight_decay=0.0625)"),
    (
        "adam-accumulation-schedule",
        f"keras.optimizers.Adam({SCHEDULES}.ExponentialDecay({F64}(0.01), 4, 0.5), beta_1=0.875, beta_2=0.984375, gradient_accumulation_steps=2)",
    ),
    ("adam-ema", "keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=0.984375, use_ema=True, ema_momentum=0.875)"),
    ("adamw", "keras.optimizers.AdamW(0.01, weight_decay=0.125, beta_1=0.875, beta_2=0.984375, epsilon=2**-20)"),
    ("adamw-amsgrad", "keras.optimizers.AdamW(0.01, 0.0625, 0.75, 0.984375, 2**-10, amsgrad=True)"),
    ("adamax", "keras.optimizers.Adamax(0.01, beta_1=0.875, beta_2=0.984375, epsilon=2**-10)"),
    ("nadam", "keras.optimizers.Nadam(0.01, beta_1=0.875, beta_2=0.984375, epsilon=2**-10)"),
    ("nadam-support", "keras.optimizers.Nadam(0.01, beta_1=0.875, beta_2=0.984375, weight_decay=0.125, clipnorm=1.0)"),
    ("rmsprop", "keras.optimizers.RMSprop(0.01, rho=0.875, epsilon=2**-20)"),
    ("rmsprop-momentum", "keras.optimizers.RMSprop(0.01, rho=0.75, momentum=0.875, epsilon=2**-10)"),
    ("rmsprop-centered", "keras.optimizers.RMSprop(0.01, rho=0.875, momentum=0.5, epsilon=2**-20, centered=True)"),
    ("adagrad", "keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.5, epsilon=2**-20)"),
    ("adagrad-zero", "keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.0, epsilon=2**-10)"),
    ("adadelta", "keras.optimizers.Adadelta(1.0, rho=0.875, epsilon=2**-20)"),
    (
        "adadelta-support",
        "keras.optimizers.Adadelta(1.0, rho=0.75, epsilon=2**-10, clipvalue=0.5, weight_decay=0.0625)",
    ),
    ("lion", "keras.optimizers.Lion(0.01, beta_1=0.75, beta_2=0.875)"),
    ("lion-weight-decay", "keras.optimizers.Lion(0.01, beta_1=0.875, beta_2=0.984375, weight_decay=0.125)"),
    ("ftrl", "keras.optimizers.Ftrl(0.1, initial_accumulator_value=0.5)"),
    (
        "ftrl-options",
        "keras.optimizers.Ftrl(0.1, learning_rate_power=-0.25, initial_accumulator_value=0.5, l1_regularization_strength=0.015625, l2_regularization_strength=0.125, l2_shrinkage_regularization_strength=0.0625, beta=0.25)",
    ),
    ("lamb", "keras.optimizers.Lamb(0.01, beta_1=0.875, beta_2=0.984375, epsilon=2**-20)"),
    (
        "lamb-weight-decay",
        "keras.optimizers.Lamb(0.01, beta_1=0.75, beta_2=0.984375, epsilon=2**-10, weight_decay=0.0625)",
    ),
    ("adafactor", "keras.optimizers.Adafactor(epsilon_2=2**-10)"),
    (
        "adafactor-options",
        "keras.optimizers.Adafactor(0.5, beta_2_decay=-0.5, epsilon_1=2**-90, epsilon_2=2**-7, clip_threshold=0.5)",
    ),
    (
        "adafactor-schedule",
        f"keras.optimizers.Adafactor({SCHEDULES}.InverseTimeDecay({F64}(0.5), 2, 1.0), epsilon_2=2**-10)",
    ),
]
# each schedule under SGD with momentum (Keras folds lr into the velocity, so lr(step) matters)
SCHEDULE_CASES = [
    ("exponential", f"{SCHEDULES}.ExponentialDecay({F64}(0.1), decay_steps=3, decay_rate=0.75)"),
    ("exponential-staircase", f"{SCHEDULES}.ExponentialDecay({F64}(0.1), 3, 0.75, staircase=True)"),
    (
        "piecewise",
        f"{SCHEDULES}.PiecewiseConstantDecay([2, 5, 11], [{F64}(0.2), {F64}(0.1), {F64}(0.05), {F64}(0.01)])",
    ),
    ("polynomial", f"{SCHEDULES}.PolynomialDecay({F64}(0.1), 12, end_learning_rate=0.015625, power=2.0)"),
    ("polynomial-cycle", f"{SCHEDULES}.PolynomialDecay({F64}(0.1), 6, 0.015625, power=0.5, cycle=True)"),
    ("inverse-time", f"{SCHEDULES}.InverseTimeDecay({F64}(0.1), 4, 0.5)"),
    ("inverse-time-staircase", f"{SCHEDULES}.InverseTimeDecay({F64}(0.1), 4, 0.5, staircase=True)"),
    ("cosine", f"{SCHEDULES}.CosineDecay({F64}(0.1), 15, alpha=0.125)"),
    ("cosine-warmup", f"{SCHEDULES}.CosineDecay({F64}(0.0), 10, warmup_target=0.125, warmup_steps=5)"),
    ("cosine-restarts", f"{SCHEDULES}.CosineDecayRestarts({F64}(0.1), 3, t_mul=2.0, m_mul=0.5, alpha=0.0625)"),
    ("cosine-restarts-t1", f"{SCHEDULES}.CosineDecayRestarts({F64}(0.1), 4, t_mul=1.0, m_mul=0.75)"),
]
CASES = OPTIMIZERS + [(f"schedule-{name}", f"keras.optimizers.SGD({s}, momentum=0.875)") for name, s in SCHEDULE_CASES]


@pytest.fixture(scope="module", autouse=True)
def keras_float64():
    # Keras keeps a float learning rate and computes schedules in floatx: float64 makes the
    # comparison tight (the translation computes them in Python floats)
    old = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(old)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(STEPS)]
    return values, grads


def _keras_run(expr, values, grads):
    opt = eval(expr, {"keras": keras, "np": np})
    variables = [keras.Variable(v, dtype="float64") for v in values]
    snapshots = []
    for step_grads in grads:
        opt.apply_gradients(zip([keras.ops.convert_to_tensor(g, dtype="float64") for g in step_grads], variables))
        snapshots.append([np.array(v.numpy()) for v in variables])
    return snapshots


def _translate(expr):
    """The translation of ``opt = expr`` alone: its first argument stays PARAMS (the training-step
    pass, which puts a model's parameters there, reports that this file applies no gradients)."""
    result = fwtranslate.translate(f"import keras\n\nopt = {expr}\n", to="torch")
    errors = [
        d.format()
        for d in result.diagnostics
        if d.severity == "error" and not (d.code == "training-step" and "parameters are not known" in d.message)
    ]
    assert not errors, errors
    return result.code


def _torch_run(code, values, grads, optimizer=None):
    params = [torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for v in values]
    namespace = {"PARAMS": params, "np": np}
    exec(code, namespace)
    opt = namespace["opt"]
    snapshots = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        if optimizer is not None:
            optimizer(opt, len(snapshots))
        opt.step()
        snapshots.append([p.detach().numpy().copy() for p in params])
    return opt, snapshots


def _assert_same(keras_snaps, torch_snaps, rtol=RTOL):
    for step in (0, STEPS - 1):  # after the first step and after all of them
        for k, t in zip(keras_snaps[step], torch_snaps[step]):
            np.testing.assert_allclose(t, k, rtol=rtol, atol=ATOL, err_msg=f"after step {step + 1}")


@pytest.mark.parametrize(("expr"), [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_translated_optimizer_matches_keras(expr):
    values, grads = _data()
    code = _translate(expr)
    _, torch_snaps = _torch_run(code, values, grads)
    # Nadam's momentum schedule hard-codes 0.96, which Keras' TensorFlow backend casts through float32
    _assert_same(_keras_run(expr, values, grads), torch_snaps, rtol=1e-7 if "Nadam" in expr else RTOL)


@pytest.mark.parametrize(
    ("expr", "native"),
    [
        ("keras.optimizers.SGD(0.1, momentum=0.9)", "SGD"),
        ("keras.optimizers.Nadam()", "NAdam"),
        ("keras.optimizers.Adadelta()", "Adadelta"),
        (f"keras.optimizers.SGD({SCHEDULES}.ExponentialDecay(0.1, 3, 0.7), momentum=0.9)", "KerasSGD"),
        ("keras.optimizers.Adam()", "KerasAdam"),
        ("keras.optimizers.RMSprop()", "KerasRMSprop"),
        ("keras.optimizers.Adagrad()", "KerasAdagrad"),
    ],
)
def test_native_class_only_where_exact(expr, native):
    """A torch.optim class where it is Keras' rule; a support class elsewhere."""
    values, grads = _data()
    opt, _ = _torch_run(_translate(expr), values, grads[:1])
    assert type(opt).__name__ == native
    assert type(opt).__module__.startswith("torch.optim") == (not native.startswith("Keras"))


def _native_with_schedule(schedule):
    def set_lr(opt, step):
        for group in opt.param_groups:
            group["lr"] = schedule(step)

    return set_lr


def test_native_sgd_momentum_is_wrong_under_a_schedule():
    """torch's SGD momentum (b = m * b + g; p -= lr * b) keeps past gradients at today's lr;
    Keras' velocity keeps them at the lr they were taken with: why KerasSGD is emitted."""
    values, grads = _data()
    schedule_src = f"{SCHEDULES}.ExponentialDecay({F64}(0.1), 2, 0.5)"
    expr = f"keras.optimizers.SGD({schedule_src}, momentum=0.875)"
    keras_snaps = _keras_run(expr, values, grads)
    schedule = eval(schedule_src, {"keras": keras, "np": np})
    code = "import torch\nopt = torch.optim.SGD(PARAMS, lr=0.1, momentum=0.875)\n"
    _, native = _torch_run(code, values, grads, optimizer=_native_with_schedule(lambda s: float(schedule(s))))
    np.testing.assert_allclose(native[0][0], keras_snaps[0][0], rtol=RTOL)  # equal on the first step
    assert not np.allclose(native[-1][0], keras_snaps[-1][0], rtol=1e-4)
    _, translated = _torch_run(_translate(expr), values, grads)
    _assert_same(keras_snaps, translated)


@pytest.mark.parametrize(
    ("expr", "native_code"),
    [
        (
            "keras.optimizers.Adam(0.01, beta_1=0.875, beta_2=0.984375, epsilon=2**-10)",
            "torch.optim.Adam(PARAMS, lr=0.01, betas=(0.875, 0.984375), eps=2**-10)",
        ),
        (
            "keras.optimizers.RMSprop(0.01, rho=0.875, epsilon=2**-10)",
            "torch.optim.RMSprop(PARAMS, lr=0.01, alpha=0.875, eps=2**-10)",
        ),
        (
            "keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.5, epsilon=2**-10)",
            "torch.optim.Adagrad(PARAMS, lr=0.1, initial_accumulator_value=0.5, eps=2**-10)",
        ),
        (
            "keras.optimizers.SGD(0.1, momentum=0.5, weight_decay=0.125)",
            "torch.optim.SGD(PARAMS, lr=0.1, momentum=0.5, weight_decay=0.125)",
        ),
    ],
    ids=["adam-epsilon", "rmsprop-epsilon", "adagrad-epsilon", "sgd-coupled-decay"],
)
def test_native_torch_differs_where_a_support_class_is_emitted(expr, native_code):
    """The closest torch.optim spelling drifts from Keras (epsilon placement, coupled decay)."""
    values, grads = _data()
    keras_snaps = _keras_run(expr, values, grads)
    _, native = _torch_run("import torch\nopt = " + native_code + "\n", values, grads)
    assert not np.allclose(native[-1][0], keras_snaps[-1][0], rtol=1e-6)
    _, translated = _torch_run(_translate(expr), values, grads)
    _assert_same(keras_snaps, translated)


@pytest.mark.parametrize(("expr"), [c[1] for c in SCHEDULE_CASES], ids=[c[0] for c in SCHEDULE_CASES])
def test_schedule_values_match_keras(expr):
    """The translated schedule gives Keras' learning rate at each step count."""
    keras_schedule = eval(expr, {"keras": keras, "np": np})
    namespace = {"np": np}
    exec(_translate(expr).replace("opt = ", "schedule = "), namespace)
    for step in range(2 * STEPS):
        expected = float(keras_schedule(step))
        assert namespace["schedule"](torch.tensor(step)) == pytest.approx(expected, rel=1e-12, abs=1e-15), step


def test_schedule_sees_keras_step_count():
    """Keras calls the schedule with optimizer.iterations before the update (0 first)."""
    namespace = {}
    code = _translate("keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))")
    values, grads = _data()
    params = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    namespace["PARAMS"] = params
    exec(code, namespace)
    opt = namespace["opt"]
    seen = []
    for step_grads in grads[:3]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    assert opt.iterations == 3


NAMES = [
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Lion",
    "Ftrl",
    "Lamb",
    "Adafactor",
]
# Keras attribute -> torch param-group key, for the native translations
NATIVE_KEYS = {
    "SGD": {"momentum": "momentum", "nesterov": "nesterov"},
    "NAdam": {"epsilon": "eps", "beta_1": ("betas", 0), "beta_2": ("betas", 1)},
    "Adadelta": {"rho": "rho", "epsilon": "eps"},
}
HYPER = [
    "momentum",
    "nesterov",
    "beta_1",
    "beta_2",
    "epsilon",
    "amsgrad",
    "rho",
    "centered",
    "initial_accumulator_value",
    "learning_rate_power",
    "l1_regularization_strength",
    "l2_regularization_strength",
    "l2_shrinkage_regularization_strength",
    "beta",
    "beta_2_decay",
    "epsilon_1",
    "epsilon_2",
    "clip_threshold",
    "relative_step",
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
]


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_keras(name):
    """Keras' defaults (epsilon 1e-7, rho 0.9, initial accumulator 0.1...) reach the translation."""
    expr = f"keras.optimizers.{name}()"
    keras_opt = eval(expr, {"keras": keras})
    values, _ = _data()
    opt, _ = _torch_run(_translate(expr), values, [])
    group = opt.param_groups[0]
    if type(opt).__name__.startswith("Keras"):
        assert opt.learning_rate == float(keras_opt.learning_rate)
        for attr in HYPER:
            if hasattr(keras_opt, attr):
                assert getattr(opt, attr) == getattr(keras_opt, attr), attr
        return
    assert group["lr"] == float(keras_opt.learning_rate)
    keys = NATIVE_KEYS[type(opt).__name__]
    if type(opt).__name__ == "NAdam":
        assert group["momentum_decay"] == 1.0 and group["weight_decay"] == 0
    for attr, key in keys.items():
        value = group[key[0]][key[1]] if isinstance(key, tuple) else group[key]
        assert value == getattr(keras_opt, attr), attr


@pytest.mark.parametrize("name", NAMES)
def test_defaults_float32_training(name):
    """Every optimizer with all its defaults, float32 as a model trains: same parameters to float32 precision."""
    expr = f"keras.optimizers.{name}()"
    values, grads = _data(1)
    values = [v.astype(np.float32) for v in values]
    grads = [[g.astype(np.float32) for g in step] for step in grads[:10]]
    opt = eval(expr, {"keras": keras})
    variables = [keras.Variable(v, dtype="float32") for v in values]
    for step_grads in grads:
        opt.apply_gradients(zip([keras.ops.convert_to_tensor(g, dtype="float32") for g in step_grads], variables))
    params = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    namespace = {"PARAMS": params}
    exec(_translate(expr), namespace)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        namespace["opt"].step()
    for v, p, start in zip(variables, params, values):
        moved = np.abs(v.numpy() - start).max()
        np.testing.assert_allclose(p.detach().numpy(), v.numpy(), rtol=0, atol=max(1e-3 * moved, 1e-6))


def _step_both(keras_opt, variables, torch_opt, params, step_grads):
    keras_opt.apply_gradients(zip([keras.ops.convert_to_tensor(g, dtype="float64") for g in step_grads], variables))
    for p, g in zip(params, step_grads):
        p.grad = torch.tensor(g, dtype=torch.float64)
    torch_opt.step()


def _both(expr, values):
    keras_opt = eval(expr, {"keras": keras, "np": np})
    variables = [keras.Variable(v, dtype="float64") for v in values]
    params = [torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for v in values]
    namespace = {"PARAMS": params, "np": np}
    exec(_translate(expr), namespace)
    return keras_opt, variables, namespace["opt"], params, namespace


def test_keras_methods_on_the_translation():
    """exclude_from_weight_decay(var_list=...), setting learning_rate and scale_loss act as in Keras."""
    values, grads = _data()
    keras_opt, variables, torch_opt, params, _ = _both(
        "keras.optimizers.AdamW(0.01, weight_decay=0.125, beta_1=0.875, beta_2=0.984375)", values
    )
    keras_opt.exclude_from_weight_decay(var_list=[variables[1]])
    torch_opt.exclude_from_weight_decay(var_list=[params[1]])
    for i, step_grads in enumerate(grads):
        if i == STEPS // 2:
            keras_opt.learning_rate = 0.25
            torch_opt.learning_rate = 0.25
        _step_both(keras_opt, variables, torch_opt, params, step_grads)
    for v, p in zip(variables, params):
        np.testing.assert_allclose(p.detach().numpy(), v.numpy(), rtol=RTOL, atol=ATOL)
    assert torch_opt.iterations == int(keras_opt.iterations)
    scaled = eval("keras.optimizers.SGD(loss_scale_factor=4.0)", {"keras": keras}).scale_loss(3.0)
    _, _, scaling, _, _ = _both("keras.optimizers.SGD(loss_scale_factor=4.0)", values)
    assert scaling.scale_loss(torch.tensor(3.0)).item() == float(scaled)
    assert torch_opt.scale_loss(3.0) == keras_opt.scale_loss(3.0)


@pytest.mark.parametrize(
    "expr",
    [
        "keras.optimizers.Nadam(0.01, beta_1=0.875, beta_2=0.984375, clipvalue=1.0)",
        f"keras.optimizers.Adam({SCHEDULES}.CosineDecay({F64}(0.01), 12), beta_1=0.875, beta_2=0.984375, use_ema=True)",
    ],
    ids=["nadam", "adam-schedule-ema"],
)
def test_state_dict_resumes_exactly(expr):
    """state_dict() carries the step count (bias correction, schedule) and Nadam's product."""
    values, grads = _data()
    keras_snaps = _keras_run(expr, values, grads)
    _, _, first, params, _ = _both(expr, values)
    half = STEPS // 2
    for step_grads in grads[:half]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        first.step()
    saved = first.state_dict()
    namespace = {"PARAMS": params, "np": np}
    exec(_translate(expr), namespace)  # a new optimizer, as a resumed run builds it
    resumed = namespace["opt"]
    resumed.load_state_dict(saved)
    for step_grads in grads[half:]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        resumed.step()
    rtol = 1e-7 if "Nadam" in expr else RTOL
    for k, p in zip(keras_snaps[-1], params):
        np.testing.assert_allclose(p.detach().numpy(), k, rtol=rtol, atol=ATOL)
