"""Numerics of the torch.optim rules (rules/torch_to_tf/optim.yaml, support_optim.py): the same
constructor source builds the torch optimizer (and scheduler) and, translated, the Keras one; both
get the same parameters and the same seeded gradients, the schedulers are stepped as torch code
steps them, and parameters, learning rates and cycled momenta must agree in float64 after every step.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from fwtranslate import translate
from fwtranslate.rules import load_rules

PRELUDE = "import torch\nimport torch.optim as optim\nfrom torch.optim import lr_scheduler\n"
RTOL, ATOL = 1e-9, 1e-12
STEPS = 20
SHAPES = [(3, 2), (4,)]


@pytest.fixture(autouse=True)
def float64():
    """float64 on both sides: Keras' learning-rate variable takes floatx; torch's scalar state
    (NAdam's mu_product, step counts) takes the default dtype."""
    old_floatx, old_dtype = keras.config.floatx(), torch.get_default_dtype()
    keras.config.set_floatx("float64")
    torch.set_default_dtype(torch.float64)
    yield
    keras.config.set_floatx(old_floatx)
    torch.set_default_dtype(old_dtype)


@functools.lru_cache(maxsize=1)
def _data():
    rng = np.random.default_rng(0)
    initial = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(STEPS)]
    metrics = [float(x) for x in rng.uniform(size=STEPS)]
    return initial, grads, metrics


@functools.cache
def _translation(source: str) -> str:
    result = translate(PRELUDE + source, to="tf")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    return result.code


class _Run:
    """The torch original and the Keras translation of ``source`` (which binds ``opt`` and maybe
    ``sched``), stepped together."""

    def __init__(self, source: str):
        initial, _, _ = _data()
        self.torch_params = [torch.tensor(p, requires_grad=True) for p in initial]
        self.t = {"params": self.torch_params}
        exec(compile(PRELUDE + source, "<torch>", "exec"), self.t)
        self.code = _translation(source)
        self.k: dict = {}
        exec(compile(self.code, "<translation>", "exec"), self.k)
        self.keras_vars = [keras.Variable(p) for p in initial]
        assert isinstance(self.k["opt"], keras.optimizers.Optimizer)

    def optimizer_step(self, i: int, apply=None):
        grads = _data()[1][i]
        for p, g in zip(self.torch_params, grads):
            p.grad = torch.tensor(g)
        self.t["opt"].step()
        pairs = [(keras.ops.convert_to_tensor(g), v) for g, v in zip(grads, self.keras_vars)]
        (apply or self.k["opt"].apply_gradients)(pairs)

    def scheduler_step(self, *args):
        self.t["sched"].step(*args)
        self.k["sched"].step(*args)

    def check(self, where: str):
        for p, v in zip(self.torch_params, self.keras_vars):
            np.testing.assert_allclose(v.numpy(), p.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=where)
        group = self.t["opt"].param_groups[0]
        kopt = self.k["opt"]
        np.testing.assert_allclose(float(kopt.learning_rate.numpy()), group["lr"], rtol=RTOL, atol=0, err_msg=where)
        if "sched" in self.t:
            np.testing.assert_allclose(self.k["sched"].get_last_lr(), self.t["sched"].get_last_lr(), rtol=RTOL)
        if "betas" in group and hasattr(kopt, "beta_1"):
            np.testing.assert_allclose(kopt.beta_1, group["betas"][0], rtol=RTOL, err_msg=where)
        if "momentum" in group and hasattr(kopt, "_momentum"):
            np.testing.assert_allclose(kopt.momentum, group["momentum"], rtol=RTOL, err_msg=where)


# defaults, and each option that changes the rule (several options to a configuration, for time)
OPTIMIZERS = [
    "optim.SGD(params, lr=0.1)",
    "optim.SGD(params, lr=0.1, weight_decay=0.05)",
    "optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)",
    "optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, maximize=True)",
    "optim.Adam(params)",
    "optim.Adam(params, lr=0.05, betas=(0.5, 0.9), eps=1e-3, amsgrad=True, weight_decay=0.1)",
    "optim.Adam(params, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)",
    "optim.AdamW(params, lr=0.05)",
    "optim.AdamW(params, lr=0.05, weight_decay=0.2, amsgrad=True)",
    "optim.Adamax(params)",
    "optim.Adamax(params, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)",
    "optim.NAdam(params)",
    "optim.NAdam(params, lr=0.05, weight_decay=0.1, momentum_decay=0.01)",
    "optim.NAdam(params, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)",
    "optim.RAdam(params, lr=0.05)",
    "optim.RAdam(params, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)",
    "optim.RAdam(params, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)",
    "optim.Rprop(params)",
    "optim.Rprop(params, lr=0.1, etas=(0.4, 1.5), step_sizes=(1e-3, 0.3), maximize=True)",
    "optim.ASGD(params)",
    "optim.ASGD(params, lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1, maximize=True)",
    "optim.RMSprop(params)",
    "optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-4, momentum=0.9)",
    "optim.RMSprop(params, lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)",
    "optim.Adagrad(params)",
    "optim.Adagrad(params, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.3, eps=1e-6, weight_decay=0.1)",
    "optim.Adadelta(params)",
    "optim.Adadelta(params, lr=0.5, rho=0.8, eps=1e-3)",
    "optim.Adadelta(params, lr=1, weight_decay=0.1, maximize=True)",
]


@pytest.mark.parametrize("ctor", OPTIMIZERS)
def test_optimizer_matches_torch(ctor):
    """Checked after every step of 20: 3 with the constructor's lr, then the lr is lowered every third
    step (so that a rule which agrees under a constant lr only fails)."""
    run = _Run(f"opt = {ctor}\nsched = lr_scheduler.ExponentialLR(opt, gamma=0.7)\n")
    for i in range(STEPS):
        run.optimizer_step(i)
        if i % 3 == 2:
            run.scheduler_step()
        run.check(f"step {i + 1}")


SGD_MOMENTUM = "opt = optim.SGD(params, lr=0.1, momentum=0.9)\n"
ADAM = "opt = optim.Adam(params, lr=0.05)\n"
SCHEDULERS = [
    # (optimizer + scheduler source, scheduler steps every k optimizer steps, step(metric))
    (SGD_MOMENTUM + "sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)", 2),
    (SGD_MOMENTUM + "sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.5)", 2),
    (SGD_MOMENTUM + "sched = lr_scheduler.ExponentialLR(opt, 0.8)", 1),
    (SGD_MOMENTUM + "sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)", 1),
    (ADAM + "sched = lr_scheduler.CosineAnnealingLR(opt, 7)", 2),
    (SGD_MOMENTUM + "sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)", 1),
    (SGD_MOMENTUM + "sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, 4)", 1),
    (
        "opt = optim.SGD(params, lr=0.1, momentum=0.9)\nsched = lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=20)",
        1,
    ),
    (ADAM + "sched = lr_scheduler.OneCycleLR(opt, 0.1, epochs=4, steps_per_epoch=5, three_phase=True)", 1),
    (
        (
            "opt = optim.RMSprop(params, lr=0.01, momentum=0.5)\n"
            "sched = lr_scheduler.OneCycleLR(opt, 0.1, total_steps=25, anneal_strategy='linear', pct_start=0.4)"
        ),
        1,
    ),
    ("opt = optim.SGD(params, lr=0.1)\nsched = lr_scheduler.OneCycleLR(opt, 0.1, 20, cycle_momentum=False)", 1),
    (
        SGD_MOMENTUM
        + "sched = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.2, step_size_up=3, mode='triangular2')",
        1,
    ),
    (
        ADAM
        + "sched = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, step_size_down=4, mode='exp_range', gamma=0.9)",
        1,
    ),
    (SGD_MOMENTUM + "sched = lr_scheduler.LambdaLR(opt, lambda epoch: 0.9 ** epoch)", 1),
    (SGD_MOMENTUM + "sched = lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.95 if epoch % 2 else 0.8)", 1),
    (SGD_MOMENTUM + "sched = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=4)", 1),
    (ADAM + "sched = lr_scheduler.LinearLR(opt, 0.5, 0.1, total_iters=6)", 2),
    (SGD_MOMENTUM + "sched = lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3)", 1),
    (SGD_MOMENTUM + "sched = lr_scheduler.PolynomialLR(opt, total_iters=6, power=2.0)", 1),
    (
        SGD_MOMENTUM + "warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)\n"
        "cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=5)\n"
        "sched = lr_scheduler.SequentialLR(opt, schedulers=[warmup, cosine], milestones=[3])",
        1,
    ),
    (
        SGD_MOMENTUM + "sched = lr_scheduler.ChainedScheduler("
        "[lr_scheduler.ConstantLR(opt, 0.5, total_iters=2), lr_scheduler.ExponentialLR(opt, 0.9)])",
        1,
    ),
    (SGD_MOMENTUM + "sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)", "metric"),
    (
        SGD_MOMENTUM
        + "sched = lr_scheduler.ReduceLROnPlateau(opt, mode='max', factor=0.3, patience=0, threshold=0.1,"
        + " threshold_mode='abs', cooldown=1, min_lr=0.005)",
        "metric",
    ),
]


@pytest.mark.parametrize("source,every", SCHEDULERS, ids=[s.splitlines()[-1][8:60] for s, _ in SCHEDULERS])
def test_scheduler_matches_torch(source, every):
    run = _Run(source + "\n")
    run.check("constructed")  # torch's constructor already sets the lr (LinearLR, OneCycleLR, CyclicLR)
    for i in range(STEPS):
        run.optimizer_step(i)
        if every == "metric":
            run.scheduler_step(_data()[2][i])
        elif (i + 1) % every == 0:
            run.scheduler_step()
        run.check(f"step {i + 1}")


def test_two_schedulers_on_one_optimizer_chain():
    """torch's chainable form: two schedulers stepped together multiply their effects."""
    run = _Run(
        SGD_MOMENTUM + "sched = lr_scheduler.LinearLR(opt, 0.2, total_iters=5)\n"
        "sched2 = lr_scheduler.CosineAnnealingLR(opt, T_max=6)\n"
    )
    for i in range(STEPS):
        run.optimizer_step(i)
        run.scheduler_step()
        run.t["sched2"].step()
        run.k["sched2"].step()
        run.check(f"step {i + 1}")


@pytest.mark.parametrize(
    "source,change",
    [
        (SGD_MOMENTUM, "g['lr'] = g['lr'] * 0.5\ng['momentum'] = 0.5"),
        (ADAM, "g['lr'] = g['lr'] * 0.5\ng['betas'] = (0.8, 0.99)"),
        ("opt = optim.Adagrad(params)\n", "g['lr'] = g['lr'] * 0.5"),
    ],
)
def test_param_groups_of_ports(source, change):
    """Code that sets optimizer.param_groups[0][...] by hand (a manual schedule) works on the ports."""
    run = _Run(source)
    loop = "for g in opt.param_groups:\n" + "".join(f"    {line}\n" for line in change.splitlines())
    for i in range(STEPS):
        run.optimizer_step(i)
        if i % 5 == 4:
            exec(loop, run.t)
            exec(loop, run.k)
        assert run.k["opt"].param_groups[0]["lr"] == run.t["opt"].param_groups[0]["lr"]
        run.check(f"step {i + 1}")


@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)` before")
def test_float32_learning_rate_keeps_torch_values():
    """With float32 (Keras' default floatx) the lr variable rounds, but the recursive schedules go on
    from the exact values, as torch's Python floats do: get_last_lr() equals torch's."""
    keras.config.set_floatx("float32")  # the fixture restores it
    source = SGD_MOMENTUM + "sched = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.003)\n"
    t = {"params": [torch.zeros(2, requires_grad=True)]}
    exec(compile(PRELUDE + source, "<torch>", "exec"), t)
    k: dict = {}
    exec(compile(_translation(source), "<translation>", "exec"), k)
    for _ in range(12):
        t["sched"].step()
        k["sched"].step()
        assert k["sched"].get_last_lr() == t["sched"].get_last_lr()
        assert k["opt"].param_groups[0]["lr"] == t["opt"].param_groups[0]["lr"]
        assert float(k["opt"].learning_rate) == np.float32(t["opt"].param_groups[0]["lr"])


def test_asgd_average_matches_torch():
    """ASGD's averaged parameters (torch's state["ax"]), averaging from step t0 = 5 on."""
    run = _Run("opt = optim.ASGD(params, lr=0.05, t0=5)\n")
    for i in range(STEPS):
        run.optimizer_step(i)
    for p, ax in zip(run.torch_params, run.k["opt"].axs):
        np.testing.assert_allclose(ax.numpy(), run.t["opt"].state[p]["ax"].numpy(), rtol=RTOL, atol=ATOL)


def test_cycled_momentum_is_read_inside_tf_function():
    """OneCycleLR changes SGD's momentum between steps: a compiled step must see each new value."""
    run = _Run("opt = optim.SGD(params, lr=0.1, momentum=0.9)\nsched = lr_scheduler.OneCycleLR(opt, 0.5, 20)\n")
    opt, variables = run.k["opt"], run.keras_vars
    opt.build(variables)

    @tf.function
    def train_step(grads):
        opt.apply_gradients(zip(grads, variables))

    for i in range(STEPS):
        run.optimizer_step(i, apply=lambda pairs: train_step([g for g, _ in pairs]))
        run.scheduler_step()
        run.check(f"step {i + 1}")


def test_keras_native_sgd_momentum_differs_from_torch_when_lr_changes():
    """Why SGD with momentum is TorchSGD: keras.optimizers.SGD(momentum) is torch's rule only under a
    constant lr (its buffer holds lr*g, torch's g)."""
    code = _translation("opt = optim.SGD(params, lr=0.1, momentum=0.9)\n")
    assert "TorchSGD(" in code and "keras.optimizers.SGD(" not in code
    initial, grads, _ = _data()
    torch_params = [torch.tensor(p, requires_grad=True) for p in initial]
    topt = torch.optim.SGD(torch_params, lr=0.1, momentum=0.9)
    native_vars = [keras.Variable(p) for p in initial]
    native = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    for i in range(6):
        if i == 3:
            topt.param_groups[0]["lr"] = native.learning_rate = 0.01
        for p, g in zip(torch_params, grads[i]):
            p.grad = torch.tensor(g)
        topt.step()
        native.apply_gradients([(keras.ops.convert_to_tensor(g), v) for g, v in zip(grads[i], native_vars)])
        if i < 3:  # the same rule under a constant lr (Keras rounds its momentum through float32)
            np.testing.assert_allclose(native_vars[0].numpy(), torch_params[0].detach().numpy(), rtol=1e-6)
    assert not np.allclose(native_vars[0].numpy(), torch_params[0].detach().numpy(), rtol=1e-3)


def test_keras_native_adam_differs_from_torch():
    """Why Adam is TorchAdam: Keras adds epsilon before the bias correction."""
    assert "TorchAdam(" in _translation("opt = optim.Adam(params)\n")
    initial, grads, _ = _data()
    p = torch.tensor(initial[1], requires_grad=True)
    topt = torch.optim.Adam([p], lr=0.01, eps=1e-3)
    v = keras.Variable(initial[1])
    native = keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-3)
    for g in grads[:3]:
        p.grad = torch.tensor(g[1])
        topt.step()
        native.apply_gradients([(keras.ops.convert_to_tensor(g[1]), v)])
    assert not np.allclose(v.numpy(), p.detach().numpy(), rtol=1e-6)


def test_native_where_exact():
    """keras.optimizers.SGD without momentum and Adadelta are torch's rules (test_optimizer_matches_torch
    checks the numbers), so the rules emit them."""
    assert "keras.optimizers.SGD(learning_rate=0.1)" in _translation("opt = optim.SGD(params, lr=0.1)\n")
    assert "keras.optimizers.Adadelta(" in _translation("opt = optim.Adadelta(params)\n")


def test_cycle_momentum_on_native_sgd_is_reported():
    """torch's OneCycleLR gives a momentum-less SGD a momentum: the native Keras SGD cannot take one,
    so the port raises instead of training without it."""
    code = _translation("opt = optim.SGD(params, lr=0.1)\nsched = lr_scheduler.OneCycleLR(opt, 0.1, 10)\n")
    assert "keras.optimizers.SGD(" in code
    with pytest.raises(NotImplementedError, match="cycle_momentum"):
        exec(compile(code, "<translation>", "exec"), {})
    code = _translation("opt = optim.Adagrad(params)\nsched = lr_scheduler.OneCycleLR(opt, 0.1, 10)\n")
    with pytest.raises(ValueError, match="momentum or beta1"):  # as torch
        exec(compile(code, "<translation>", "exec"), {})


@pytest.mark.parametrize(
    "source",
    [
        "opt = optim.LBFGS(params)",
        "opt = optim.SGD([{'params': params}], lr=0.1)",
        "opt = optim.SparseAdam(params)",
        "sched = lr_scheduler.StepLR(opt, 2, last_epoch=4)",
    ],
)
def test_not_translated_is_reported(source):
    result = translate(PRELUDE + source + "\n", to="tf")
    assert not result.ok and any(d.severity == "error" for d in result.diagnostics)


def test_every_public_name_has_a_rule():
    import torch.optim.lr_scheduler
    import torch.optim.swa_utils

    ruleset = load_rules("torch_to_tf")
    known = {name for rule in ruleset.all_rules() for name in (rule.name, *rule.aliases)}
    known |= set(ruleset.untranslated)  # declared not translated, with the reason (LBFGS)
    expected = {f"torch.optim.{n}" for n in torch.optim.__all__ if n not in ("lr_scheduler", "swa_utils")}
    expected |= {f"torch.optim.lr_scheduler.{n}" for n in torch.optim.lr_scheduler.__all__}
    expected |= {f"torch.optim.swa_utils.{n}" for n in torch.optim.swa_utils.__all__}
    assert expected - known == set()


PORTS = ["TorchSGD", "TorchAdam", "TorchAdamW", "TorchAdamax", "TorchNAdam", "TorchRAdam", "TorchRprop", "TorchASGD"]
PORTS += ["TorchRMSprop", "TorchAdagrad", "TorchAdadelta"]


def test_ports_are_keras_optimizers():
    """Each port round-trips through get_config / from_config; two train a model with compile + fit
    (a compiled train step; fit is slow to trace, so not all ten)."""
    import importlib.util

    from fwtranslate.rules.loader import builtin_rules_dir

    spec = importlib.util.spec_from_file_location("support_optim", builtin_rules_dir() / "torch_to_tf/support_optim.py")
    support_optim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(support_optim)
    for name in PORTS:
        cls = getattr(support_optim, name)
        opt = cls(learning_rate=0.01, maximize=True)
        assert cls.from_config(opt.get_config()).get_config() == opt.get_config(), name
    x = np.linspace(-1, 1, 16).reshape(8, 2)
    y = x.sum(axis=1, keepdims=True)
    for opt in (support_optim.TorchSGD(0.1, momentum=0.9), support_optim.TorchNAdam(0.01, weight_decay=0.1)):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=opt, loss="mse")
        history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0], opt.name
