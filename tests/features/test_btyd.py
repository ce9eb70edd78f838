from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import hyp2f1
from scipy.stats import beta, gamma
from simulators import simulate_btyd
from sklearn.metrics import roc_auc_score

from potential.errors import InsufficientDataError
from potential.features.btyd import (
    BGNBD,
    GammaGamma,
    bgnbd_log_likelihood,
    btyd_scores,
    rfm_summary,
)

START = pd.Timestamp("2022-01-01")
END = pd.Timestamp("2024-01-01")
TRUTH = {"r": 0.6, "alpha": 40.0, "a": 0.8, "b": 2.5}
TRUE_MEAN_ORDER = 6 * 300 / (4 - 1)


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate_btyd(5000, START, END, seed=7)


@pytest.fixture(scope="module")
def summary(simulated: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(simulated, END)


@pytest.fixture(scope="module")
def fitted(summary: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(summary["frequency"], summary["recency"], summary["T"])


def test_rfm_summary_by_hand():
    tx = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-05",
                    "2024-01-05",
                    "2024-01-11",
                    "2024-01-03",
                    "2024-01-02",
                ]
            ),
            "amount": [100.0, 50.0, 30.0, -30.0, 60.0, 200.0, -10.0],
        }
    )
    s = rfm_summary(tx, pd.Timestamp("2024-01-21"))
    assert list(s.index) == ["a", "b"]  # c only has a refund
    a, b = s.loc["a"], s.loc["b"]
    assert (a["frequency"], a["recency"], a["T"]) == (2, 10, 20)  # two orders on 01-01 are one occasion
    assert a["monetary_value"] == pytest.approx((30 + 60) / 2)  # first day left out, refund ignored
    assert a["first_purchase"] == pd.Timestamp("2024-01-01")
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0, 18, 0)


def test_rfm_summary_ignores_events_at_or_after_as_of():
    as_of = pd.Timestamp("2024-01-21")
    tx = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-03"]),
            "amount": [100.0, 60.0, 200.0],
        }
    )
    later = pd.DataFrame(
        {
            "account_id": ["a", "b", "d"],
            "date": pd.to_datetime(["2024-01-21 00:00", "2024-03-01 00:00", "2024-01-21 12:00"]),
            "amount": [500.0, 70.0, 40.0],
        }
    )
    before = rfm_summary(tx, as_of)
    pd.testing.assert_frame_equal(rfm_summary(pd.concat([tx, later], ignore_index=True), as_of), before)


def test_rfm_summary_names_missing_columns():
    with pytest.raises(ValueError, match="amount"):
        rfm_summary(pd.DataFrame({"account_id": ["a"], "date": [START]}), END)


def test_log_likelihood_matches_numerical_integration():
    r, alpha, a, b = 0.6, 4.0, 0.8, 2.5

    def mean_over_p(g: Callable[[float], float]) -> float:
        return integrate.quad(lambda p: beta.pdf(p, a, b) * g(p), 0, 1)[0]

    def mean_over_rate(g: Callable[[float], float]) -> float:
        return integrate.quad(lambda lam: gamma.pdf(lam, r, scale=1 / alpha) * g(lam), 0, np.inf)[0]

    def likelihood(x: int, t_x: float, T: float) -> float:
        """Lambda and p are independent a priori, so each term is a product of two one-dimensional means."""
        alive = mean_over_p(lambda p: (1 - p) ** x) * mean_over_rate(lambda lam: lam**x * np.exp(-lam * T))
        if x == 0:
            return alive
        gone = mean_over_p(lambda p: p * (1 - p) ** (x - 1))
        return alive + gone * mean_over_rate(lambda lam: lam**x * np.exp(-lam * t_x))

    for x, t_x, T in [(0, 0.0, 10.0), (2, 3.0, 10.0), (5, 9.0, 12.0)]:
        expected = np.log(likelihood(x, t_x, T))
        assert bgnbd_log_likelihood((r, alpha, a, b), x, t_x, T) == pytest.approx(expected, rel=1e-5)


def test_bgnbd_recovers_simulated_parameters(fitted: BGNBD):
    # Tolerances are several standard deviations of the estimates over 30 simulated samples of this size.
    assert fitted.r_ == pytest.approx(TRUTH["r"], rel=0.15)
    assert fitted.alpha_ == pytest.approx(TRUTH["alpha"], rel=0.2)
    assert fitted.a_ == pytest.approx(TRUTH["a"], rel=0.25)
    assert fitted.b_ == pytest.approx(TRUTH["b"], rel=0.35)
    mean_dropout = TRUTH["a"] / (TRUTH["a"] + TRUTH["b"])
    assert fitted.a_ / (fitted.a_ + fitted.b_) == pytest.approx(mean_dropout, rel=0.1)


def test_gamma_gamma_recovers_mean_order_value(summary: pd.DataFrame):
    model = GammaGamma().fit(summary["frequency"], summary["monetary_value"])
    assert model.population_mean == pytest.approx(TRUE_MEAN_ORDER, rel=0.1)
    spend = model.expected_spend([0, 1, 50], [0.0, 10_000.0, 10_000.0])
    assert spend[0] == pytest.approx(model.population_mean)
    assert spend[0] < spend[1] < spend[2] < 10_000  # more orders, more weight on the customer's own mean


def test_p_alive_and_expected_purchases_behave(fitted: BGNBD):
    assert np.all(fitted.p_alive([0, 0], [0, 0], [10, 500]) == 1.0)
    ages = np.array([60.0, 120.0, 240.0, 480.0])
    alive = fitted.p_alive(3, 50, ages)
    assert np.all(np.diff(alive) < 0)
    horizons = np.array([7.0, 30.0, 90.0, 365.0])
    assert np.all(np.diff(fitted.expected_purchases(horizons, 3, 50, 60)) > 0)
    frequencies = np.array([0.0, 1.0, 3.0, 10.0])
    recency = np.where(frequencies > 0, 100.0, 0.0)
    assert np.all(np.diff(fitted.expected_purchases(90, frequencies, recency, 100)) > 0)


def test_expected_purchases_matches_equation_10(fitted: BGNBD):
    r, alpha, a, b = fitted.params
    x, t_x, T, t = np.array([0.0, 2.0, 6.0]), np.array([0.0, 30.0, 200.0]), 250.0, 90.0
    z = t / (alpha + T + t)
    c = a + b + x - 1
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, c, z)
    gone_odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    direct = c / (a - 1) * bracket / (1 + gone_odds)
    np.testing.assert_allclose(fitted.expected_purchases(t, x, t_x, T), direct, rtol=1e-9)


def test_unfitted_model_refuses_to_predict():
    with pytest.raises(RuntimeError, match="fit"):
        BGNBD().p_alive(1, 1, 2)


def test_scores_rank_churn_and_predict_totals_on_held_out_window():
    horizon = 90
    tx = simulate_btyd(5000, START, END, seed=11)
    cutoff = END - pd.Timedelta(days=horizon)
    scores = btyd_scores(tx, cutoff, horizon)
    future = tx[(tx["date"] >= cutoff) & (tx["amount"] > 0)]
    purchase_days = future.groupby("account_id")["date"].nunique().reindex(scores.index, fill_value=0)
    spend = future.groupby("account_id")["amount"].sum().reindex(scores.index, fill_value=0.0)
    assert roc_auc_score(purchase_days == 0, scores["churn_score"]) > 0.75
    assert scores["expected_purchases"].sum() == pytest.approx(purchase_days.sum(), rel=0.15)
    assert scores["expected_spend"].sum() == pytest.approx(spend.sum(), rel=0.2)
    assert scores["p_alive"].between(0, 1).all() and scores["churn_score"].between(0, 1).all()


def test_churn_scores_stand_when_gamma_gamma_cannot_be_fitted(monkeypatch):
    """Gamma-Gamma only prices the orders: when it fails, the spend columns are missing and BG/NBD's churn
    score is the one it would be anyway."""
    horizon = 90
    tx = simulate_btyd(2000, START, END, seed=11)
    cutoff = END - pd.Timedelta(days=horizon)
    both = btyd_scores(tx, cutoff, horizon)

    def refuse(self, frequency, monetary_value):
        raise InsufficientDataError("Gamma-Gamma did not converge")

    monkeypatch.setattr(GammaGamma, "fit", refuse)
    alone = btyd_scores(tx, cutoff, horizon)
    pd.testing.assert_series_equal(alone["churn_score"], both["churn_score"])
    assert alone["expected_spend"].isna().all() and alone["expansion_score"].isna().all()
    assert both["expansion_score"].notna().all()


def test_a_failed_fit_says_why_in_words(monkeypatch):
    """scipy's L-BFGS-B reports a failed line search as "ABNORMAL: ", with nothing after the colon."""
    from scipy.optimize import OptimizeResult

    import potential.features.btyd as btyd

    def abnormal(objective, start, **kwargs):
        return OptimizeResult(x=start, success=False, message="ABNORMAL: ")

    monkeypatch.setattr(btyd, "minimize", abnormal)
    s = rfm_summary(simulate_btyd(500, START, END, seed=5), END)
    with pytest.raises(InsufficientDataError, match="did not converge") as refused:
        GammaGamma().fit(s["frequency"], s["monetary_value"])
    assert "line search found no better parameters" in str(refused.value)
    assert "ABNORMAL" not in str(refused.value)


def test_simulation_is_deterministic_and_inside_the_period():
    first = simulate_btyd(300, START, END, seed=3)
    pd.testing.assert_frame_equal(first, simulate_btyd(300, START, END, seed=3))
    assert first["date"].between(START, END, inclusive="left").all()
    assert first["account_id"].nunique() == 300 and (first["amount"] > 0).all()


def test_too_few_repeat_customers():
    tx = simulate_btyd(15, START, END, seed=0)
    s = rfm_summary(tx, END)
    with pytest.raises(InsufficientDataError, match="repeat purchases"):
        BGNBD().fit(s["frequency"], s["recency"], s["T"])
    with pytest.raises(InsufficientDataError, match="repeat purchases"):
        GammaGamma().fit(s["frequency"], s["monetary_value"])


def test_likelihood_per_distinct_count_equals_the_per_customer_closed_form():
    """The special functions of x run once per distinct purchase count: the same numbers, bit for bit."""
    from scipy.special import betaln, digamma, gammaln

    from potential.features.btyd import _bgnbd_loglik_and_grad, _distinct_counts

    rng = np.random.default_rng(3)
    x = rng.integers(0, 12, 500).astype(float)
    age = rng.uniform(1.0, 10.0, 500)
    t_x = np.where(x > 0, age * rng.uniform(0.0, 1.0, 500), 0.0)
    r, alpha, a, b = 0.7, 3.0, 0.9, 2.2
    repeat = x > 0
    xs = np.where(repeat, x, 1.0)
    log_alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + age)
    log_gone = np.where(
        repeat, betaln(a + 1, b + xs - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    mix = np.logaddexp(log_alive, log_gone)
    w_alive, w_gone = np.exp(log_alive - mix), np.exp(log_gone - mix)
    expected = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + mix
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - (w_alive * np.log(alpha + age) + w_gone * np.log(alpha + t_x))
    )
    d_b = w_alive * (digamma(b + x) - digamma(b)) + w_gone * (digamma(b + xs - 1) - digamma(b))
    d_b += digamma(a + b) - digamma(a + b + x)

    params = np.array([r, alpha, a, b])
    for counts in (None, _distinct_counts(x)):
        loglik, grad = _bgnbd_loglik_and_grad(params, x, t_x, age, counts)
        np.testing.assert_array_equal(loglik, expected)
        np.testing.assert_array_equal(grad[:, 0], d_r * r)
        np.testing.assert_array_equal(grad[:, 3], d_b * b)
    distinct, at = _distinct_counts(x)
    assert len(distinct) == 12 and (distinct[at] == x).all()
