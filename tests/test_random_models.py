"""Property test of the translator: random PyTorch models (tests/model_strategies.py) translate to
Keras without diagnostics or torch imports, and verify as equivalent (inference, training-mode
forward, gradients and an SGD step; 3 verifier examples each).

30 derandomized examples, so CI always runs the same 30 models (about 3 minutes on 2 cores).
On failure the assertion message holds the generated source and the verify report, and
Hypothesis shrinks toward a minimal failing model. benchmarks/random_models.py runs many more.
"""
from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, given, settings

from model_strategies import check, models

# fwtranslate.verify runs its own @given search; its nested-@given health check reads the
# *default* profile, so the check is suppressed there for the duration of each verify call.
settings.register_profile("random-models-nested", suppress_health_check=[HealthCheck.nested_given])


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(model=models())
def test_random_model_translates_and_verifies(model):
    previous = settings.get_current_profile_name()
    settings.load_profile("random-models-nested")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            outcome = check(model, workdir, examples=3, check_training=True)
    finally:
        settings.load_profile(previous)
    assert outcome.stage == "ok", (
        f"{outcome.stage} failed for input shape {model.input_shape}\n"
        f"--- generated source ---\n{model.source}\n--- {outcome.stage} ---\n{outcome.detail}")
