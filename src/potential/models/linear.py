"""The linear half of a blended classifier: a logistic regression on the booster's own input matrix.

Why a blend (`training.linear_weight`). A booster and a logistic regression on the same features make
different errors: the booster finds interactions and thresholds, the regression extrapolates smoothly where
the trees saw few rows. On the time-validation stand-ins of BENCHMARKS.md the average of their log-odds
ranks the accounts better than either does alone (bench_backtest, bench_classic).

It reads the matrix the booster reads (`FeatureSpec.encode`: numbers, NaN for missing, categories as their
training codes), so scoring, the MLflow model and the explanations need no other input. Per column:
- a number: missing -> the training median, then sign(x) log(1 + |x|), standardised; plus a standardised
  missing flag when training rows had missing values;
- a category code: one coefficient per level seen on at least MIN_LEVEL_ROWS training rows; rarer, unseen and
  missing levels share one.
The regression is L2-penalised (`training.linear_penalty`, scikit-learn's C: the intercept is not penalised),
solved by Newton steps up to NEWTON_MAX_COLUMNS design columns (`solve_logistic`), by scikit-learn's LBFGS
beyond.

Explanations. The margin is intercept + sum_j t_j(x_j), every term a function of one column, so the exact
SHAP value of column j against the training rows is t_j(x_j) - mean over training rows of t_j: the
contributions and the base (intercept + those means) add up to the margin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_LEVEL_ROWS = 10  # a category level needs this many training rows to get a coefficient of its own
# Newton steps up to this many design columns, LBFGS beyond (each step costs rows x columns^2)
NEWTON_MAX_COLUMNS = 300
PENALTY_C = 0.5  # inverse L2 strength, the classic baseline's
FILL_ROWS = 8192  # rows of the design filled (and of its Hessian summed) at a time
NEWTON_TOL = 1e-4  # stop when the mean-scaled gradient and half the Newton decrement are both below it
NEWTON_MAX_STEPS = 100
# a design column: (column of the encoded matrix, "value" | "flag" | "level", level code; -1: the shared level)
Slot = tuple[int, str, int]


def signed_log(x: np.ndarray) -> np.ndarray:
    """sign(x) * log(1 + |x|), computed in one output array (no temporaries beyond it)."""
    out = np.log1p(np.abs(x))
    return np.copysign(out, x, out=out)


def _standardise(values: np.ndarray) -> tuple[float, float]:
    """(mean, scale) of a column; a constant column gets scale 1 (its standardised value is 0)."""
    mean = float(values.mean()) if len(values) else 0.0
    scale = float(values.std()) if len(values) else 0.0
    return mean, scale if scale > 0 else 1.0


@dataclass(frozen=True)
class Design:
    """The regression's input, learnt from training rows of the encoded matrix: its design columns, one
    `Slot` each, and the constants that turn a row into them (medians, means, scales, the levels kept).

    Learnt once, it can fill the design of more rows than it was learnt on: a training run fits the
    validation model, the baseline and the refit on nested row sets of one matrix (`training.LinearRows`).
    """

    slots: tuple[Slot, ...]
    n_levels: Mapping[int, int]
    kept: Mapping[int, np.ndarray]  # categorical column -> per code (and "other"): has a design column
    median: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    flag_mean: np.ndarray
    flag_scale: np.ndarray

    @classmethod
    def learn(cls, X: np.ndarray, n_levels: Mapping[int, int]) -> Design:
        """The design of the encoded matrix `X`; `n_levels` maps each categorical column to its number of
        training categories (codes 0..n-1; NaN or any other value: missing)."""
        X = np.asarray(X, dtype=float)
        k = X.shape[1]
        slots: list[Slot] = []
        kept: dict[int, np.ndarray] = {}
        for j in range(k):
            x = X[:, j]
            if j in n_levels:
                counts = np.bincount(_level_index(x, n_levels[j]), minlength=n_levels[j] + 1)
                kept[j] = np.append(counts[:-1] >= MIN_LEVEL_ROWS, False)
                slots += [(j, "level", int(c)) for c in np.flatnonzero(kept[j])]
                if counts[~kept[j]].sum():
                    slots.append((j, "level", -1))
                continue
            slots.append((j, "value", 0))
            missing = np.isnan(x)
            if missing.any() and not missing.all():
                slots.append((j, "flag", 0))
        median, mean, scale = np.zeros(k), np.zeros(k), np.ones(k)
        flag_mean, flag_scale = np.zeros(k), np.ones(k)
        for j, kind, _ in slots:
            x = X[:, j]
            if kind == "value":
                known = x[~np.isnan(x)]
                median[j] = float(np.median(known)) if len(known) else 0.0
                mean[j], scale[j] = _standardise(signed_log(np.where(np.isnan(x), median[j], x)))
            elif kind == "flag":
                flag_mean[j], flag_scale[j] = _standardise(np.isnan(x).astype(float))
        return cls(tuple(slots), dict(n_levels), kept, median, mean, scale, flag_mean, flag_scale)

    def matrix(self, X: np.ndarray) -> np.ndarray:
        """The design of the rows of `X` [rows x slots], row-major (the order the solver works in), filled a
        block of rows at a time with whole-block operations per kind of slot."""
        X = np.asarray(X, dtype=float)
        kinds = [kind for _, kind, _ in self.slots]
        columns = np.array([j for j, _, _ in self.slots], dtype=np.int64)
        value = np.flatnonzero(np.array(kinds) == "value")
        flag = np.flatnonzero(np.array(kinds) == "flag")
        vj, fj = columns[value], columns[flag]
        median, mean, scale = self.median[vj], self.mean[vj], self.scale[vj]
        flag_mean, flag_scale = self.flag_mean[fj], self.flag_scale[fj]
        levels = {  # categorical column -> (its slots' positions, their codes; -1: the shared level)
            j: (
                np.array([i for i, (c, _, _) in enumerate(self.slots) if c == j]),
                np.array([code for c, _, code in self.slots if c == j]),
            )
            for j in self.n_levels
        }
        Z = np.empty((len(X), len(self.slots)))
        for start in range(0, len(X), FILL_ROWS):
            block = X[start : start + FILL_ROWS]
            out = Z[start : start + FILL_ROWS]
            numbers = block[:, vj]
            missing = np.isnan(numbers)
            out[:, value] = (signed_log(np.where(missing, median, numbers)) - mean) / scale
            out[:, flag] = (np.isnan(block[:, fj]) - flag_mean) / flag_scale
            for j, (positions, codes) in levels.items():
                if not len(positions):
                    continue
                index = _level_index(block[:, j], self.n_levels[j])
                cells = index[:, None] == codes[None, :]  # never true for the shared level's -1
                if (codes < 0).any():
                    cells[:, codes < 0] = ~self.kept[j][index][:, None]
                out[:, positions] = cells
        return Z

    def solution(self, part: LinearPart) -> np.ndarray:
        """A part fitted on this design as the solver sees it: a coefficient per design column, then the
        intercept (the inverse of `LinearPart.fit_design`'s mapping)."""
        out = np.empty(len(self.slots) + 1)
        for i, (j, kind, code) in enumerate(self.slots):
            if kind == "value":
                out[i] = part.coef[j]
            elif kind == "flag":
                out[i] = part.flag_coef[j]
            else:  # the shared level's coefficient sits at every code without a column of its own
                out[i] = part.levels[j][code if code >= 0 else int(np.flatnonzero(~self.kept[j])[0])]
        out[-1] = part.intercept
        return out


@dataclass(frozen=True)
class LinearPart:
    """Per column j of the encoded matrix (numbers: median, mean, scale, coef and the missing flag's mean,
    scale, coef; categories: a coefficient per code, the last one for rare, unseen and missing levels)."""

    intercept: float
    median: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    flag_mean: tuple[float, ...]
    flag_scale: tuple[float, ...]
    flag_coef: tuple[float, ...]
    # categorical column -> its coefficient per training code, then the shared "other" one
    levels: Mapping[int, tuple[float, ...]]
    centre: tuple[float, ...]  # each column's mean term over the training rows

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        n_levels: Mapping[int, int],
        weight: np.ndarray | None = None,
        penalty: float = PENALTY_C,
    ) -> LinearPart:
        """Fit on the encoded matrix `X` (rows x columns), labels `y` and optional row weights; `n_levels`
        maps each categorical column to its number of training categories (codes 0..n-1; NaN or any other
        value: missing); `penalty` is the inverse L2 strength (the classic baseline's by default)."""
        design = Design.learn(X, n_levels)
        return cls.fit_design(design, design.matrix(X), y, weight, penalty)

    @classmethod
    def fit_design(
        cls,
        design: Design,
        Z: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None = None,
        penalty: float = PENALTY_C,
        start: np.ndarray | None = None,
    ) -> LinearPart:
        """Fit on rows of a design already filled (`design.matrix`), as `fit` does; the solver starts from
        `start` (a coefficient per design column, then the intercept: `Design.solution`) when given."""
        y = np.asarray(y, dtype=float)
        solution = None
        if Z.shape[1] <= NEWTON_MAX_COLUMNS:
            with contextlib.suppress(np.linalg.LinAlgError):  # a Hessian singular in floating point
                solution = solve_logistic(Z, y, weight, penalty, start)
        weights, intercept = solution or _lbfgs(Z, y, weight, penalty, start)
        k = len(design.median)
        coef, flag_coef = np.zeros(k), np.zeros(k)
        tables = {j: np.zeros(n + 1) for j, n in design.n_levels.items()}
        for (j, kind, code), w in zip(design.slots, weights, strict=True):
            if kind == "value":
                coef[j] = w
            elif kind == "flag":
                flag_coef[j] = w
            elif code < 0:
                tables[j][~design.kept[j]] = w  # rare, unseen and missing levels share it
            else:
                tables[j][code] = w
        # a column's term is the sum of its design columns times their coefficients, so its mean over the
        # training rows is read off the design's column means (no second pass over the rows)
        centre = np.zeros(k)
        np.add.at(centre, [j for j, _, _ in design.slots], weights * Z.mean(axis=0))
        d = design
        return cls(
            intercept,
            *(
                tuple(map(float, a))
                for a in (d.median, d.mean, d.scale, coef, d.flag_mean, d.flag_scale, flag_coef)
            ),
            levels={j: tuple(map(float, table)) for j, table in tables.items()},
            centre=tuple(map(float, centre)),
        )

    def terms(self, X: np.ndarray) -> np.ndarray:
        """Each column's term t_j(x_j) of the margin [rows x columns]."""
        X = np.asarray(X, dtype=float)
        out = np.zeros(X.shape)
        for j in range(X.shape[1]):
            x = X[:, j]
            if j in self.levels:
                table = np.asarray(self.levels[j])
                out[:, j] = table[_level_index(x, len(table) - 1)]
                continue
            missing = np.isnan(x)
            logged = signed_log(np.where(missing, self.median[j], x))
            out[:, j] = self.coef[j] * (logged - self.mean[j]) / self.scale[j]
            if self.flag_coef[j]:
                out[:, j] += self.flag_coef[j] * (missing - self.flag_mean[j]) / self.flag_scale[j]
        return out

    def margin(self, X: np.ndarray) -> np.ndarray:
        """The regression's log-odds of each row."""
        return self.intercept + self.terms(X).sum(axis=1)

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, float]:
        """(SHAP values in log-odds [rows x columns], base): base + a row's values = its margin."""
        centre = np.asarray(self.centre)
        return self.terms(X) - centre, self.intercept + float(centre.sum())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: list(getattr(self, name))
            for name in ("median", "mean", "scale", "coef", "flag_mean", "flag_scale", "flag_coef", "centre")
        }
        out["intercept"] = self.intercept
        out["levels"] = {str(j): list(v) for j, v in self.levels.items()}  # JSON keys are text
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearPart:
        arrays = {
            name: tuple(float(v) for v in data[name])
            for name in ("median", "mean", "scale", "coef", "flag_mean", "flag_scale", "flag_coef", "centre")
        }
        levels = {int(j): tuple(float(v) for v in table) for j, table in data["levels"].items()}
        return cls(float(data["intercept"]), levels=levels, **arrays)


def solve_logistic(
    Z: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None,
    penalty: float,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of the L2-penalised logistic regression of 0/1 `y` on the design `Z`, with
    optional row weights, the inverse L2 strength `penalty` (scikit-learn's C; the intercept is free) and a
    start (a coefficient per column, then the intercept; zero by default): the optimum of
    scikit-learn's `LogisticRegression(C=penalty)`, by its Newton-Cholesky solver's steps and stopping rule.

    Why not scikit-learn's solver: each Newton step's cost is the Hessian, Z' diag(h) Z. Summed here a block of
    rows at a time as (sqrt(h) Z)'(sqrt(h) Z), a symmetric product BLAS computes in half the operations and
    within one block buffer; it and the step's solve use numpy's BLAS only (scipy's LAPACK, in the other
    library, waits on numpy's threads on 2 cores). At 184k rows x 165 columns a step takes 0.16 s against
    scikit-learn's 0.25 s, for the same optimum (tests/models/test_linear.py).
    """
    from scipy.special import expit

    n, p = Z.shape
    sw = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
    total = float(sw.sum())
    lam = 1.0 / (penalty * total)  # the objective is scaled by 1 / total, as scikit-learn's is
    sy = sw * y
    theta = np.zeros(p + 1) if start is None else np.array(start, dtype=float)
    buffer = np.empty((min(FILL_ROWS, n), p))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = Z @ theta[:p] + theta[p]
        loss = float(sw @ np.logaddexp(0.0, margin) - sy @ margin) / total
        return loss + 0.5 * lam * float(theta[:p] @ theta[:p]), margin

    def gradient(margin: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prob = expit(margin)
        residual = (sw * prob - sy) / total
        g = np.empty(p + 1)
        g[:p] = residual @ Z + lam * theta[:p]
        g[p] = residual.sum()
        return g, sw * prob * (1.0 - prob) / total

    def hessian(h: np.ndarray) -> np.ndarray:
        H = np.zeros((p + 1, p + 1))
        root = np.sqrt(h)
        for first in range(0, n, FILL_ROWS):
            rows = Z[first : first + FILL_ROWS]
            block = np.multiply(rows, root[first : first + FILL_ROWS, None], out=buffer[: len(rows)])
            H[:p, :p] += block.T @ block  # an array times its own transpose: BLAS's symmetric product
        H[:p, p] = H[p, :p] = h @ Z
        H[p, p] = h.sum()
        H[np.arange(p), np.arange(p)] += lam
        return H

    loss, margin = objective(theta)
    g, h = gradient(margin, theta)
    for _ in range(NEWTON_MAX_STEPS):
        step = -np.linalg.solve(hessian(h), g)
        decrement = -float(g @ step)
        t = 1.0  # backtracking (Armijo) line search
        while True:
            new_loss, new_margin = objective(theta + t * step)
            if new_loss <= loss - 1e-4 * t * decrement or t < 1e-8:
                break
            t *= 0.5
        if new_loss > loss:  # no step lowers the loss in floating point: this is its optimum
            break
        theta += t * step
        loss, margin = new_loss, new_margin
        g, h = gradient(margin, theta)
        if np.abs(g).max() <= NEWTON_TOL and 0.5 * decrement <= NEWTON_TOL:
            break
    return theta[:p], float(theta[p])


def _lbfgs(
    Z: np.ndarray, y: np.ndarray, weight: np.ndarray | None, penalty: float, start: np.ndarray | None
) -> tuple[np.ndarray, float]:
    """`solve_logistic` by scikit-learn's LBFGS, for designs too wide for Newton steps (or a singular Hessian)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=penalty, max_iter=2000, solver="lbfgs", warm_start=start is not None)
    if start is not None:
        lr.coef_, lr.intercept_ = np.array(start[None, :-1], dtype=float), np.array(start[-1:], dtype=float)
    lr.fit(Z, y, sample_weight=weight)
    return lr.coef_[0], float(lr.intercept_[0])


def _level_index(codes: np.ndarray, n: int) -> np.ndarray:
    """Row positions into a table of n levels plus "other": codes 0..n-1 as they are, anything else n."""
    valid = (codes >= 0) & (codes < n)  # NaN compares false
    return np.where(valid, np.nan_to_num(codes), n).astype(np.int64)
