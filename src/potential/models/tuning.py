"""Hyperparameter search for the LightGBM classifiers on the time-validation slices. No I/O, no MLflow here.

Protocol (docs/design.md section 2): every trial trains a booster on the train slice with the candidate
parameters, stops early on the calibration slice and is scored by ROC-AUC on that same slice — the
validation cutoffs just before the test cutoffs, and time-later than every training row (purged). The
search never sees the test slice, so the test metrics and the promotion gate stay out of sample; the
calibration slice is the one the final model already early-stops and calibrates on. On profile-only data
(no events) the slices are the seeded stratified split instead of cutoffs; the protocol is the same.

The search is Optuna's TPE sampler seeded by `config.seed` over a bounded space (`SPACE`), with trial 0 the
configured parameters. A given seed and data give the same trials and the same winner: the trial budget
ends the search; `training.tuning.timeout_seconds` is only a safety net, and when it ends the search early
the result says so (`timed_out`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from potential.config import Config

if TYPE_CHECKING:
    import lightgbm as lgb

# The bounded search space: LightGBM parameter -> (low, high, log scale). Rounds are not searched: each
# trial boosts up to `training.lightgbm.n_estimators` rounds and stops early on the validation slice.
SPACE: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.01, 0.2, True),
    "num_leaves": (4, 64, True),
    "min_child_samples": (10, 1000, True),
    "lambda_l1": (1e-3, 10.0, True),
    "lambda_l2": (1e-3, 50.0, True),
    "feature_fraction": (0.3, 1.0, False),
    "bagging_fraction": (0.5, 1.0, False),
}
INTEGER = ("num_leaves", "min_child_samples")
METRIC = "roc_auc"
VALIDATION = "calibration slice"  # what the trials are scored on, as the tracking store records it


@dataclass(frozen=True)
class Trial:
    """One candidate: its searched parameters, validation ROC-AUC and the rounds early stopping kept."""

    number: int
    params: dict[str, Any]
    value: float
    iterations: int


@dataclass(frozen=True)
class TuningResult:
    """The search's outcome for one target: the winning LightGBM parameters and every trial."""

    params: dict[str, Any]  # the full LightGBM parameters of the best trial (what the final model uses)
    value: float  # its validation ROC-AUC
    trials: tuple[Trial, ...]
    budget: int  # trials asked for
    timed_out: bool  # the wall-clock cap ended the search before the budget
    seconds: float
    validation: str = VALIDATION
    booster: lgb.Booster | None = field(default=None, repr=False, compare=False)  # the best trial's

    @property
    def best(self) -> Trial:
        return max(self.trials, key=lambda t: (t.value, -t.number))

    @property
    def searched(self) -> dict[str, Any]:
        """The best trial's values of the searched parameters only."""
        return {k: self.params[k] for k in SPACE}

    def summary(self) -> dict[str, Any]:
        """Plain values for logs: budget, trials run, the winner and every trial's score."""
        return {
            "metric": METRIC,
            "validation": self.validation,
            "budget": self.budget,
            "trials_run": len(self.trials),
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 2),
            "best_trial": self.best.number,
            "best_value": self.value,
            "best_params": self.searched,
            "trials": [
                {"number": t.number, "value": t.value, "iterations": t.iterations, "params": t.params}
                for t in self.trials
            ],
        }


# fit(params) -> a booster trained on the train slice, early-stopped on the validation slice
Fit = Callable[[dict[str, Any]], "lgb.Booster"]


def tune(
    fit: Fit,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    base: dict[str, Any],
    config: Config,
) -> TuningResult:
    """Search the parameters in `SPACE` around `base` (the configured LightGBM parameters).

    `fit(params)` trains one booster (the caller decides on which rows and with which weights); each is
    scored by ROC-AUC of its raw scores on (`X_val`, `y_val`) at its best iteration. Trial 0 is `base`
    itself. Ties keep the earlier trial, so the configured parameters win unless a trial beats them.
    """
    import optuna
    from sklearn.metrics import roc_auc_score

    settings = config.training.tuning
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    boosters: dict[int, lgb.Booster] = {}

    def objective(trial: optuna.Trial) -> float:
        params = {**base, **_suggest(trial)}
        booster = fit(params)
        scores = booster.predict(X_val, num_iteration=booster.best_iteration or None)
        value = float(roc_auc_score(y_val, scores)) if len(np.unique(y_val)) > 1 else 0.5
        trial.set_user_attr("iterations", int(booster.best_iteration or booster.current_iteration()))
        # keep only the booster of the best trial so far: a search holds at most two in memory
        best = max(
            (t.value for t in trial.study.get_trials(deepcopy=False) if t.value is not None), default=-1.0
        )
        if value > best or not boosters:
            boosters.clear()
            boosters[trial.number] = booster
        return value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental-feature notices
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(
                seed=config.seed,
                n_startup_trials=min(10, max(settings.trials // 3, 1)),
                multivariate=True,
            ),
        )
        study.enqueue_trial(_start(base))
        started = time.perf_counter()
        study.optimize(objective, n_trials=1)  # the configured parameters always get their trial
        remaining = settings.timeout_seconds - (time.perf_counter() - started)
        if settings.trials > 1 and remaining > 0:
            study.optimize(objective, n_trials=settings.trials - 1, timeout=remaining)
        seconds = time.perf_counter() - started
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    trials = tuple(
        Trial(t.number, dict(t.params), float(t.value), int(t.user_attrs["iterations"]))
        for t in done
        if t.value is not None
    )
    best = max(trials, key=lambda t: (t.value, -t.number))
    return TuningResult(
        params={**base, **_typed(best.params)},
        value=best.value,
        trials=trials,
        budget=settings.trials,
        timed_out=len(trials) < settings.trials,
        seconds=seconds,
        booster=boosters.get(best.number),
    )


def _suggest(trial: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (low, high, log) in SPACE.items():
        if name in INTEGER:
            out[name] = trial.suggest_int(name, int(low), int(high), log=log)
        else:
            out[name] = trial.suggest_float(name, low, high, log=log)
    return out


def _start(base: dict[str, Any]) -> dict[str, Any]:
    """The configured parameters as a first trial, clipped into the space (Optuna refuses values outside)."""
    out: dict[str, Any] = {}
    for name, (low, high, _) in SPACE.items():
        value = float(base.get(name, low if name == "lambda_l1" else (low + high) / 2))
        value = min(max(value, low), high)
        out[name] = int(round(value)) if name in INTEGER else value
    return out


def _typed(params: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if k in INTEGER else float(v) for k, v in params.items()}
