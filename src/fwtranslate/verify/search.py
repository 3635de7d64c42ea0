"""Hypothesis as the input search engine: draw cases, run a check, shrink a failure.

The check raises Mismatch on a difference; Hypothesis shrinks the case and replays the
minimal one last, so the last failing case recorded is the shrunk one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .spec import InputSpec
from .strategies import Case, cases


class Mismatch(Exception):
    def __init__(self, phase: str, diffs: list, message: str = ""):
        super().__init__(message or f"{phase}: outputs differ")
        self.phase, self.diffs, self.message = phase, diffs, message


class Rejected(Exception):
    """The original model cannot run this case (the input is outside what it accepts)."""


class NothingRuns(Exception):
    """Every drawn case was rejected."""


@dataclass
class SearchResult:
    passed: int
    failing_case: Case | None = None
    mismatch: Mismatch | None = None


def search(spec: InputSpec, examples: int, seed: int, check: Callable[[Case], Any]) -> SearchResult:
    from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
    from hypothesis import seed as hyp_seed
    from hypothesis.errors import Unsatisfiable

    state: dict[str, Any] = {"passed": 0, "rejected": None}

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @hyp_seed(seed)
    @given(cases(spec))
    def run(case: Case) -> None:
        try:
            check(case)
        except Rejected as exc:
            state["rejected"] = str(exc)
            assume(False)
        except Mismatch as exc:
            state["case"], state["mismatch"] = case, exc
            raise
        state["passed"] += 1

    try:
        run()
    except Mismatch:
        return SearchResult(state["passed"], state["case"], state["mismatch"])
    except Unsatisfiable:
        raise NothingRuns(state["rejected"] or "no input could be drawn") from None
    if state["passed"] == 0 and state["rejected"]:
        raise NothingRuns(state["rejected"])
    return SearchResult(state["passed"])
