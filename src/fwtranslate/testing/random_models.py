"""What the random-model generators share (``torch_models``, ``keras_models``).

A generator is written against a tiny ``pick(options)`` interface: choose one element of a list,
earlier options being "simpler" (what Hypothesis shrinks toward). ``strategy(generate)`` backs it
with Hypothesis draws; ``generate(random.Random(seed))`` backs it with a seeded RNG, which the
benchmark (benchmarks/random_models.py) uses for reproducible runs outside Hypothesis.
``check_translation`` translates one model and verifies it numerically against its original.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Pick = Callable[[Sequence[Any]], Any]


@dataclass(frozen=True)
class RandomModel:
    source: str
    input_shape: tuple[int, ...]
    family: str

    @property
    def shape_arg(self) -> str:
        return ",".join(map(str, self.input_shape))


@dataclass
class Outcome:
    stage: str  # "ok", "translate" (translation failed) or "verify" (not equivalent / crashed)
    detail: str  # diagnostics or the verify report
    seconds: float
    phases: tuple[str, ...] = ()  # the verifier phases that ran (inference, training, gradients, step)


def picker(rng_or_pick: random.Random | Pick) -> Pick:
    """A pick function from a random.Random (benchmark) or a pick function (Hypothesis)."""
    return rng_or_pick.choice if isinstance(rng_or_pick, random.Random) else rng_or_pick


def strategy(generate: Callable[[Pick], Any]) -> Any:
    """A Hypothesis strategy of ``generate``'s models (imports Hypothesis only here)."""
    from hypothesis import strategies as st

    @st.composite
    def models(draw) -> Any:
        return generate(lambda options: draw(st.sampled_from(list(options))))

    return models()


def matching(patterns: dict[str, re.Pattern[str]], model: RandomModel) -> list[str]:
    """The names of ``patterns`` found in ``model``'s source (coverage counts)."""
    return [name for name, pattern in patterns.items() if pattern.search(model.source)]


def check_translation(
    model: RandomModel,
    workdir: str | Path,
    *,
    to: str,
    entry: str,
    leftover: re.Pattern[str],
    leftover_message: str,
    examples: int = 3,
    check_training: bool = True,
    rules: Sequence = (),
    isolate: bool = False,
    layout: str = "torch",
) -> Outcome:
    """Translate ``model`` to ``to`` and verify it numerically, writing files under ``workdir``;
    a translation still importing ``leftover`` failed. ``rules``: extra rule files. ``isolate``:
    verify in a child process of its own (verify/isolation.py), as the command line does.
    ``layout``: the translation's --layout (PyTorch -> Keras only)."""
    import fwtranslate

    start = time.perf_counter()
    src, dst = Path(workdir) / "random_net.py", Path(workdir) / f"random_net_{to}.py"
    src.write_text(model.source)
    try:
        extra = {"layout": layout} if to == "tf" else {}
        result = fwtranslate.translate_file(src, to, output=dst, rules=rules, **extra)
    except Exception as exc:  # noqa: BLE001 - a translator crash is a translation failure
        return Outcome("translate", f"translator crashed: {type(exc).__name__}: {exc}", time.perf_counter() - start)
    if not result.ok or leftover.search(result.code):
        detail = "\n".join(d.format() for d in result.diagnostics) or leftover_message
        return Outcome("translate", detail, time.perf_counter() - start)
    try:
        report = fwtranslate.verify(
            src,
            dst,
            entry,
            input_shape=model.input_shape,
            examples=examples,
            check_training=check_training,
            check_gradients=check_training,
            isolate=isolate,
        )
    except Exception as exc:  # noqa: BLE001 - a crash is a verification failure too
        return Outcome("verify", f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    stage = "ok" if report.equivalent else "verify"
    return Outcome(stage, report.format_text(), time.perf_counter() - start, tuple(p.name for p in report.phases))
