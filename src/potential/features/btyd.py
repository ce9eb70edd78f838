"""Buy-till-you-die baselines: BG/NBD for purchase counts and dropout, Gamma-Gamma for order value.

These textbook probabilistic models are the yardstick the learned rankers have to beat:

- BG/NBD: Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2), 275-284.
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
  Analysis", Journal of Marketing Research 42(4), 415-430.

A purchase occasion is a calendar day with positive spend, as in the papers' data preparation: several
orders on one day are one occasion. Time is in days in the public API; the fitters rescale time and money
internally so the optimiser works on parameters of order one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from potential.errors import InsufficientDataError

MIN_REPEAT_CUSTOMERS = 20
RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value", "first_purchase")
LOG_PARAM_BOUND = 15.0  # |log parameter| <= 15 keeps exp() finite without constraining realistic fits

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def rfm_summary(transactions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Frequency, recency, age and mean repeat spend per account, from purchase days strictly before `as_of`.

    Refunds (amount <= 0) are not purchase occasions. `frequency` counts repeat purchase days, `recency` and
    `T` are days from the first purchase day to the last one and to `as_of`, `monetary_value` is the mean
    spend per repeat day: the first day is left out because the Gamma-Gamma model describes repeat spend.
    """
    _require_columns(transactions, ("account_id", "date", "amount"))
    keep = (transactions["date"] < as_of) & (transactions["amount"] > 0)
    past = transactions.loc[keep]
    if past.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=float) for c in RFM_COLUMNS[:-1]})
        empty["first_purchase"] = pd.Series(dtype="datetime64[ns]")
        return empty.rename_axis("account_id")
    codes, accounts = pd.factorize(past["account_id"], sort=True)
    day = past["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    first_day = int(day.min())
    span = int(day.max()) - first_day + 1
    # One sortable key per (account, day): sorted keys group by account, then by day.
    keys, occasion = np.unique(codes.astype(np.int64) * span + (day - first_day), return_inverse=True)
    day_spend = np.bincount(occasion, weights=past["amount"].to_numpy(dtype=float))
    owner = keys // span
    start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    end = np.r_[start[1:], owner.size] - 1
    frequency = (end - start).astype(float)
    first = (keys[start] % span + first_day).astype("datetime64[D]")
    repeat_spend = np.add.reduceat(day_spend, start) - day_spend[start]
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (keys[end] - keys[start]).astype(float),
            "T": (as_of.to_datetime64() - first) / np.timedelta64(1, "D"),
            "monetary_value": np.divide(
                repeat_spend, frequency, out=np.zeros_like(repeat_spend), where=frequency > 0
            ),
            "first_purchase": first.astype("datetime64[ns]"),
        },
        index=pd.Index(accounts, name="account_id"),
    )
    return summary


@dataclass
class BGNBD:
    """Beta-geometric / negative binomial model of repeat purchasing (Fader, Hardie & Lee 2005).

    While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, rate alpha); right after
    each repeat purchase they drop out for good with probability p ~ Beta(a, b). `alpha_` is in days.
    `penalizer` adds penalizer * sum(log(parameter)^2) in internal units, a shrinkage for tiny samples.
    """

    penalizer: float = 0.0
    r_: float = field(default=math.nan, init=False)
    alpha_: float = field(default=math.nan, init=False)
    a_: float = field(default=math.nan, init=False)
    b_: float = field(default=math.nan, init=False)
    log_likelihood_: float = field(default=math.nan, init=False)

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BGNBD:
        """Maximum likelihood on log-parameters; time is rescaled so the largest age is 10 units."""
        x, t_x, age = _validate_rfm(frequency, recency, T)
        _require_repeat_customers(x, "BG/NBD")
        scale = float(age.max()) / 10.0
        t_x, age = t_x / scale, age / scale
        counts = _distinct_counts(x)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            loglik, grad = _bgnbd_loglik_and_grad(np.exp(theta), x, t_x, age, counts)
            return _penalised(-loglik.mean(), -grad.mean(axis=0), theta, self.penalizer)

        theta = _maximise("BG/NBD", objective, np.zeros(4))
        r, alpha, a, b = np.exp(theta)
        self.r_, self.alpha_, self.a_, self.b_ = float(r), float(alpha * scale), float(a), float(b)
        self.log_likelihood_ = float(bgnbd_log_likelihood(self.params, x, t_x * scale, age * scale).sum())
        return self

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(r, alpha, a, b) with alpha in days; refuses before `fit`."""
        if math.isnan(self.r_):
            raise RuntimeError("BGNBD is not fitted yet; call fit(frequency, recency, T) first.")
        return self.r_, self.alpha_, self.a_, self.b_

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """P(still active at T | x, t_x, T), from Fader, Hardie & Lee's note "Computing P(alive) Using the
        BG/NBD Model"; 1 for customers without repeat purchases, who cannot have dropped out yet."""
        r, alpha, a, b = self.params
        x, t_x, age = _validate_rfm(frequency, recency, T)
        repeat = x > 0
        log_odds_gone = np.full(x.shape, -np.inf)
        xr, ar = x[repeat], age[repeat]
        log_odds_gone[repeat] = (
            math.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + ar) - np.log(alpha + t_x[repeat]))
        )
        return expit(-log_odds_gone)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Expected purchase days in (T, T + t], equation (10) of the paper.

        The Gauss hypergeometric term is evaluated after Euler's transformation,
        ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)
        with c = a+b+x-1 and z = t/(alpha+T+t) in [0, 1): the original pairs a huge 2F1 with a tiny power for
        frequent buyers, the transformed one has parameters that do not grow with x.
        """
        r, alpha, a, b = self.params
        x, _, age = _validate_rfm(frequency, recency, T)
        horizon = _non_negative(t, "t")
        # Equation (10) is 0/0 at a = 1 exactly; it is smooth in a, so step just off the singular point.
        if abs(a - 1.0) < 1e-6:
            a = 1.0 + math.copysign(1e-6, a - 1.0)
        c = a + b + x - 1.0
        log_survive = np.log(alpha + age) - np.log(alpha + age + horizon)
        z = -np.expm1(log_survive)
        tail = np.exp((a - 1.0) * log_survive) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        return c / (a - 1.0) * (1.0 - tail) * self.p_alive(frequency, recency, T)

    def p_no_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T).

        A customer who is gone never buys. One who is alive has lambda ~ Gamma(r + x, rate alpha + T) a
        posteriori and buys nothing in t with probability ((alpha+T)/(alpha+T+t))^(r+x). This combination is
        the usual churn score built from BG/NBD; it is exact under the model, because a customer can only
        drop out right after a purchase, so one who buys nothing in the window cannot have left during it.
        """
        r, alpha, _, _ = self.params
        x, _, age = _validate_rfm(frequency, recency, T)
        horizon = _non_negative(t, "t")
        silent_if_alive = np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + horizon)))
        return 1.0 - self.p_alive(frequency, recency, T) * (1.0 - silent_if_alive)


@dataclass
class GammaGamma:
    """Gamma-Gamma model of average order value (Fader, Hardie & Lee 2005, "RFM and CLV").

    Each order value is Gamma(p, rate nu) and nu ~ Gamma(q, rate v) across customers, so the population
    mean order value is p * v / (q - 1). q is kept above 1 (q = 1 + exp(theta)) because that mean, and the
    conditional expectation, need it. The model assumes spend is independent of purchase frequency.
    """

    penalizer: float = 0.0
    p_: float = field(default=math.nan, init=False)
    q_: float = field(default=math.nan, init=False)
    v_: float = field(default=math.nan, init=False)

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGamma:
        """Maximum likelihood on customers with repeat purchases; money is rescaled by its mean internally."""
        x, m = _validate_spend(frequency, monetary_value)
        _require_repeat_customers(x, "Gamma-Gamma")
        repeat = x > 0
        x, m = x[repeat], m[repeat]
        scale = float(m.mean())
        m = m / scale

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            loglik, grad = _gamma_gamma_loglik_and_grad(theta, x, m)
            return _penalised(-loglik.mean(), -grad.mean(axis=0), theta, self.penalizer)

        theta = _maximise("Gamma-Gamma", objective, np.zeros(3))
        self.p_, self.q_, self.v_ = (
            float(np.exp(theta[0])),
            float(1.0 + np.exp(theta[1])),
            float(np.exp(theta[2]) * scale),
        )
        return self

    @property
    def params(self) -> tuple[float, float, float]:
        """(p, q, v) with v in the currency of the amounts; refuses before `fit`."""
        if math.isnan(self.p_):
            raise RuntimeError("GammaGamma is not fitted yet; call fit(frequency, monetary_value) first.")
        return self.p_, self.q_, self.v_

    @property
    def population_mean(self) -> float:
        """Mean order value across customers, p * v / (q - 1)."""
        p, q, v = self.params
        return p * v / (q - 1.0)

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        """E[order value | x, m]: a credibility blend of the population mean and the customer's own mean."""
        p, q, v = self.params
        x, m = _validate_spend(frequency, monetary_value)
        return p * (v + x * m) / (p * x + q - 1.0)


def bgnbd_log_likelihood(
    params: Sequence[float], frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (the paper's closed form); params = (r, alpha, a, b), alpha in days."""
    x, t_x, age = _validate_rfm(frequency, recency, T)
    loglik, _ = _bgnbd_loglik_and_grad(np.asarray(params, dtype=float), x, t_x, age)
    return loglik


def _distinct_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct purchase counts and where each customer's is among them (`distinct[at] == x`)."""
    distinct, at = np.unique(x, return_inverse=True)
    return distinct, at.reshape(x.shape)


def _bgnbd_loglik_and_grad(
    params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    age: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood per customer and its gradient with respect to the log-parameters (n x 4).

    L = Gamma(r+x) alpha^r / Gamma(r) * [B(a, b+x)/B(a, b) (alpha+T)^-(r+x)
                                        + [x > 0] B(a+1, b+x-1)/B(a, b) (alpha+t_x)^-(r+x)]
    The bracket is summed in log space (logaddexp); the gradient weights each term by its share.
    The special functions of x are evaluated once per distinct purchase count (`counts`, from
    `_distinct_counts`: a few hundred values for a hundred thousand customers), then spread to the
    customers: the same numbers for a fraction of the work.
    """
    r, alpha, a, b = params
    repeat = x > 0
    distinct, at = _distinct_counts(x) if counts is None else counts
    xs = np.where(distinct > 0, distinct, 1.0)  # keeps b+x-1 > 0 in the branch that is masked out anyway
    base = gammaln(r + distinct)[at] - gammaln(r) + r * math.log(alpha)
    log_alive = betaln(a, b + distinct)[at] - betaln(a, b) - (r + x) * np.log(alpha + age)
    log_gone = betaln(a + 1, b + xs - 1)[at] - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    log_gone = np.where(repeat, log_gone, -np.inf)
    mix = np.logaddexp(log_alive, log_gone)
    w_alive, w_gone = np.exp(log_alive - mix), np.exp(log_gone - mix)

    ab, abx = digamma(a + b), digamma(a + b + distinct)[at]
    d_r = digamma(r + distinct)[at] - digamma(r) + math.log(alpha)
    d_r -= w_alive * np.log(alpha + age) + w_gone * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + age) + w_gone / (alpha + t_x))
    d_a = w_alive * (ab - abx) + w_gone * (digamma(a + 1) - digamma(a) + ab - abx)
    d_b = w_alive * (digamma(b + distinct)[at] - digamma(b)) + w_gone * (digamma(b + xs - 1)[at] - digamma(b))
    d_b += ab - abx
    grad = np.column_stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return base + mix, grad


def _gamma_gamma_loglik_and_grad(
    theta: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma log-likelihood of (x, mean spend m) per customer and its gradient in theta (n x 3).

    theta = (log p, log(q - 1), log v); the density of the mean of x order values is
    Gamma(px+q) / (Gamma(px) Gamma(q)) v^q m^(px-1) x^(px) / (v + m x)^(px+q).
    """
    p, q, v = math.exp(theta[0]), 1.0 + math.exp(theta[1]), math.exp(theta[2])
    px = p * x
    log_total = np.log(v + m * x)
    loglik = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * math.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_total
    )
    shared = digamma(px + q)
    d_p = x * (shared - digamma(px) + np.log(m * x) - log_total)
    d_q = shared - digamma(q) + math.log(v) - log_total
    d_v = q / v - (px + q) / (v + m * x)
    return loglik, np.column_stack([d_p * p, d_q * (q - 1.0), d_v * v])


def _penalised(
    loss: float, grad: np.ndarray, theta: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    """Add the optional L2 penalty on log-parameters to a loss and its gradient."""
    return float(loss + penalizer * theta @ theta), grad + 2.0 * penalizer * theta


def _maximise(model: str, objective: Objective, start: np.ndarray) -> np.ndarray:
    """L-BFGS-B on bounded log-parameters; a failed fit is an error, not a silently poor baseline."""
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * start.size
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    if not result.success or not np.all(np.isfinite(result.x)):
        # scipy's L-BFGS-B says "ABNORMAL: " (nothing after the colon) when its line search fails
        detail = str(result.message).strip().rstrip(":").strip()
        if detail.upper().startswith("ABNORMAL"):
            detail = "the optimiser's line search found no better parameters"
        raise InsufficientDataError(
            f"the {model} fit did not converge ({detail or 'no reason given'}); the purchase history is probably too "
            "short or too uniform for this model; use a longer history or drop the BTYD baseline."
        )
    return result.x


def btyd_scores(transactions: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma scores per account for the `horizon_days` after `as_of`.

    `churn_score` is P(no purchase in the horizon) from `BGNBD.p_no_purchase`. `expansion_score` is
    (expected spend in the horizon - net spend in the equal-length window before `as_of`) / max(that spend, 1):
    the relative growth the model predicts, a ranking score for "will spend grow" that stays finite for
    accounts with nothing (or only refunds) in the previous window. Those accounts score their whole expected
    spend, so a predicted return from zero ranks above the growth of an account that is already buying.
    Refunds count in the previous spend, as in the training labels; the models only see purchase days.
    When Gamma-Gamma cannot be fitted (too few repeat buyers, spend too uniform), the spend columns are
    missing and the churn score stands; a BG/NBD that cannot be fitted raises InsufficientDataError.
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}.")
    summary = rfm_summary(transactions, as_of)
    x, t_x, age, m = (summary[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    counts = BGNBD().fit(x, t_x, age)
    purchases = counts.expected_purchases(horizon_days, x, t_x, age)
    try:
        order_value = GammaGamma().fit(x, m)
    except InsufficientDataError:  # the churn score needs BG/NBD alone: only the spend columns are lost
        spend = np.full(len(x), np.nan)
    else:
        spend = purchases * order_value.expected_spend(x, m)
    previous = _net_spend(transactions, as_of - pd.Timedelta(days=horizon_days), as_of)
    previous = previous.reindex(summary.index, fill_value=0.0).to_numpy()
    return pd.DataFrame(
        {
            "p_alive": counts.p_alive(x, t_x, age),
            "expected_purchases": purchases,
            "expected_spend": spend,
            "churn_score": counts.p_no_purchase(horizon_days, x, t_x, age),
            "expansion_score": (spend - previous) / np.maximum(previous, 1.0),
        },
        index=summary.index,
    )


def _require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Name the missing columns instead of failing later with a bare KeyError."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"transactions lack column(s) {missing}; expected {list(columns)}, found {list(frame.columns)}."
        )


def _require_repeat_customers(frequency: np.ndarray, model: str) -> None:
    """Both models learn from repeat buyers only; a handful of them gives parameters that mean nothing."""
    repeaters = int(np.count_nonzero(frequency > 0))
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise InsufficientDataError(
            f"the {model} model needs at least {MIN_REPEAT_CUSTOMERS} customers with repeat purchases, "
            f"found {repeaters}; use a longer history or an earlier cut-off with more repeat buyers."
        )


def _validate_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays of equal shape with 0 <= recency <= T, recency = 0 when frequency = 0."""
    x, t_x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(age).all()):
        raise ValueError("frequency, recency and T must be finite; drop or fill missing values first.")
    if (x < 0).any() or (t_x < 0).any() or (t_x > age).any() or ((x == 0) & (t_x > 0)).any():
        raise ValueError(
            "expected frequency >= 0, 0 <= recency <= T and recency = 0 where frequency = 0; "
            "build the inputs with rfm_summary."
        )
    return x, t_x, age


def _validate_spend(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Float arrays of equal shape; repeat buyers must have a positive mean spend."""
    x, m = np.broadcast_arrays(np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float))
    if not (np.isfinite(x).all() and np.isfinite(m).all()) or (x < 0).any():
        raise ValueError(
            "frequency must be finite and >= 0, monetary_value finite; fill missing values first."
        )
    if ((x > 0) & (m <= 0)).any():
        raise ValueError(
            "monetary_value must be positive where frequency > 0; build it from purchases with rfm_summary."
        )
    return x, m


def _non_negative(values: ArrayLike, name: str) -> np.ndarray:
    """Float array of a horizon, rejecting negative lengths."""
    array = np.asarray(values, dtype=float)
    if (array < 0).any() or not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite and >= 0 days.")
    return array


def _net_spend(transactions: pd.DataFrame, begin: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Net amount (refunds included) per account in [begin, end)."""
    dates = transactions["date"]
    window = transactions.loc[(dates >= begin) & (dates < end)]
    return window.groupby("account_id")["amount"].sum()
