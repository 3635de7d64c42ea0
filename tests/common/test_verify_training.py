"""verify's training mode (``--train-steps``): N optimizer steps with the user's optimizer, loss
and scheduler on both sides, compared after each step.

The fixture pair (tests/fixtures/training/) is a small classifier with BatchNorm and its Keras
translation written by hand (torch's SGD and Adam rules as small Keras optimizers). The correct
pair verifies; each ``bug_*`` factory of the Keras file injects one translation bug, which must
be reported NOT equivalent at the step where it first shows, naming the tensor (by the torch
original's name) that diverges first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from fwtranslate.verify import verify
from helpers import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "training"
TORCH, KERAS = FIXTURES / "mlp_torch.py", FIXTURES / "mlp_keras.py"
STEPS, PER_EPOCH = 6, 2  # StepLR(step_size=1, gamma=0.5) halves lr after steps 2 and 4
CLASSES = {"target_dtype": "int64"}  # class indices: shape (4,) and range [0, 3) from the output's (4, 3)


def train(entry="Net", optimizer="make_sgd", loss="make_ce", scheduler=None, **kw):
    targets = {} if "mse" in loss else CLASSES  # MSE: float targets shaped like the output
    return verify(
        TORCH,
        KERAS,
        entry,
        input_shape="4,8",
        train_steps=STEPS,
        optimizer=optimizer,
        loss=loss,
        scheduler=scheduler,
        steps_per_epoch=PER_EPOCH,
        **targets,
        **kw,
    )


CORRECT = [
    pytest.param("make_sgd", "make_ce", "make_steplr", id="sgd-momentum-steplr-ce-smoothing"),
    pytest.param("make_adam", "make_mse_sum", None, id="adam-large-eps-mse-sum"),
    pytest.param("make_adam_wd", "make_ce", "make_steplr", id="adam-coupled-decay-steplr"),
]


@pytest.mark.parametrize(("optimizer", "loss", "scheduler"), CORRECT)
@pytest.mark.parametrize("tol", [None, 1e-9], ids=["default-tol", "tol-1e-9"])
def test_correct_translation_is_equivalent(optimizer, loss, scheduler, tol):
    """At rtol = atol = 1e-9 (below float32's resolution) it passes only on both models'
    measured float32 rounding: the float64 runs from the same weights and batches agree."""
    kw = {} if tol is None else {"rtol": tol, "atol": tol}
    report = train(optimizer=optimizer, loss=loss, scheduler=scheduler, **kw)
    assert report.status == "equivalent", report.format_text()
    t = report.training
    assert t["ran"] == {"original": STEPS, "translation": STEPS}
    assert t["first_divergence"] is None
    assert t["losses"]["original"] == pytest.approx(t["losses"]["translation"], rel=1e-5)
    assert len(set(t["losses"]["original"])) == STEPS  # the batches differ from step to step
    if scheduler:
        assert t["scheduler_steps"] == {"original": STEPS // PER_EPOCH, "translation": STEPS // PER_EPOCH}
    phase = {p.name: p for p in report.phases}["train"]
    assert phase.ok and phase.examples == STEPS
    compared = {d.path for d in phase.diffs}
    # the loss, every parameter and the BatchNorm running statistics, by the original's names
    assert compared == {"loss", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean"} | {
        "bn.running_var",
        "fc2.weight",
        "fc2.bias",
    }
    if tol is not None:
        assert phase.noise["measured_on"] > 0 and phase.noise["largest_float64_disagreement"] < 1e-12


# (entry, optimizer, loss, scheduler): the first step and tensor that must be reported
BUGS = [
    # 1. Keras' SGD keeps lr inside its momentum buffer: equal to torch's until lr changes (after step 2)
    pytest.param(("Net", "bug_sgd_keras_momentum", "make_ce", "make_steplr"), 3, "fc1.weight", id="sgd-momentum-form"),
    # 2. Keras' Adam adds epsilon outside the bias correction
    pytest.param(("Net", "bug_adam_epsilon", "make_mse_sum", None), 1, "fc1.weight", id="adam-epsilon"),
    # 3. AdamW's decoupled decay for torch Adam(weight_decay=...)
    pytest.param(("Net", "bug_adam_decoupled_decay", "make_ce", None), 1, "fc1.weight", id="decoupled-decay"),
    # 4. StepLR(step_size=1) as a schedule over optimizer iterations: lr halves after step 1, not 2
    pytest.param(
        ("Net", "bug_sgd_schedule_per_batch", "make_ce", "bug_no_scheduler"), 2, "fc1.weight", id="scheduler-per-batch"
    ),
    # 5.-7. the loss itself differs at the first step
    pytest.param(("Net", "make_sgd", "bug_ce_not_from_logits", None), 1, "loss", id="from-logits"),
    pytest.param(("Net", "make_sgd", "bug_mse_mean", None), 1, "loss", id="mean-vs-sum"),
    pytest.param(("Net", "make_sgd", "bug_ce_no_smoothing", None), 1, "loss", id="label-smoothing-dropped"),
    # 8. torch's BatchNorm momentum 0.1 copied to Keras (whose momentum is 1 - it): only the statistics
    pytest.param(("NetBadBNMomentum", "make_sgd", "make_ce", None), 1, "bn.running_mean", id="bn-momentum"),
]


@pytest.mark.parametrize(("case", "step", "tensor"), BUGS)
def test_injected_bug_is_reported_with_step_and_tensor(case, step, tensor):
    entry, optimizer, loss, scheduler = case
    report = train(entry, optimizer, loss, scheduler)
    assert report.status == "not_equivalent", report.format_text()
    first = report.training["first_divergence"]
    assert (first["step"], first["tensor"]) == (step, tensor), report.format_text()
    assert first["max_abs_error"] > 1e-4 and first["max_rel_error"] > 1e-3
    assert report.reason.startswith(f"train step {step} of {STEPS}: {tensor} differs")
    phase = report.phases[-1]
    assert phase.name == "train" and not phase.ok and phase.examples == step
    if entry == "NetBadBNMomentum":  # the weights still train identically: only the statistics differ
        assert set(first["tensors"]) == {"bn.running_mean", "bn.running_var"}


@pytest.mark.parametrize(
    ("entry", "optimizer", "loss", "verdict", "step", "tensor"),
    [
        ("Net", "make_adam_wd", "make_ce", "equivalent", None, None),
        ("NetBadBNMomentum", "make_sgd", "make_ce", "not_equivalent", 1, "bn.running_mean"),
    ],
    ids=["correct", "bn-momentum"],
)
def test_keras_original_torch_translation(entry, optimizer, loss, verdict, step, tensor):
    """The other direction: the Keras file is the original, its factories train it; tensors are
    named in the torch translation's names, with the Keras layer that holds them."""
    report = verify(
        KERAS,
        TORCH,
        entry,
        input_shape="4,8",
        train_steps=STEPS,
        optimizer=optimizer,
        loss=loss,
        scheduler="make_steplr",
        steps_per_epoch=PER_EPOCH,
        rtol=1e-9,
        atol=1e-9,
        **CLASSES,
    )
    assert report.status == verdict, report.format_text()
    assert report.training["ran"] == {"original": STEPS, "translation": STEPS}
    first = report.training["first_divergence"]
    if step is None:
        assert first is None
    else:
        assert (first["step"], first["tensor"], first["original_layer"]) == (step, tensor, "bn")


def test_bug_still_caught_at_tight_tolerance_with_rounding_allowance():
    """The float64 fallback does not excuse a bug: its float64 runs differ as much."""
    report = train("Net", "bug_sgd_keras_momentum", "make_ce", "make_steplr", rtol=1e-9, atol=1e-9)
    assert report.status == "not_equivalent"
    assert report.training["first_divergence"]["step"] == 3


def test_translation_raising_mid_run_is_not_equivalent_at_that_step():
    report = train(loss="bug_loss_raises_at_step_3")
    assert report.status == "not_equivalent"
    assert report.training["ran"] == {"original": STEPS, "translation": 2}
    assert report.training["first_divergence"]["step"] == 3
    assert "the translation raised ValueError" in report.reason


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"loss": "broken_loss"}, "training step 2 raised RuntimeError"),
        ({"optimizer": "make_nothing"}, "has no function 'make_nothing' (--optimizer)"),
    ],
    ids=["original-fails", "missing-factory"],
)
def test_original_failing_or_missing_factory_could_not_run(kw, message):
    report = train(**kw)
    assert report.status == "error" and message in report.reason, report.reason


def test_cli_training_mode_exit_code_and_report():
    """The command line (its child process): exit 1, the step and tensor in the text report;
    options that need --train-steps are refused without it (exit 2, no child started)."""
    args = ["--entry", "Net", "--input-shape", "4,8", "--train-steps", STEPS, "--steps-per-epoch", PER_EPOCH]
    args += ["--target-shape", "4", "--target-dtype", "int64", "--loss", "make_ce", "--scheduler", "make_steplr"]
    bad = run_cli("verify", TORCH, KERAS, *args, "--optimizer", "bug_sgd_keras_momentum", in_process=True)
    assert bad.returncode == 1, bad.output
    assert "first divergence: step 3, fc1.weight" in bad.stdout
    assert "steps run: original 6, translation 6" in bad.stdout
    usage = run_cli("verify", TORCH, KERAS, "--entry", "Net", "--optimizer", "make_sgd", in_process=True)
    assert usage.returncode == 2 and "need --train-steps" in usage.output


def test_json_form_of_the_training_run():
    data = json.loads(json.dumps(train(optimizer="make_sgd", scheduler="make_steplr").to_dict()))
    assert data["status"] == "equivalent"
    assert data["training"]["ran"] == {"original": STEPS, "translation": STEPS}
    assert data["training"]["batch_shapes"] == {"inputs": [[4, 8]], "target": [4], "target_dtype": "int64"}
    assert data["phases"]["train"]["ok"] and data["phases"]["train"]["compared"] == 9
