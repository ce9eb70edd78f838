import numpy as np
import pandas as pd
import pytest

from potential.config import Config, DataConfig
from potential.data.schema import load_dataset
from potential.labels.training_set import build_training_set
from potential.models.training import train_target
from potential.scoring.explain import (
    REASON_COLUMNS,
    build_reasons,
    contributions,
    lead_targets,
    log_odds_contributions,
    long_explanations,
    pool_windows,
    reason_columns,
    reason_items,
    reasons_text,
    top_drivers,
    window_families,
)


@pytest.fixture
def trained(data_dir):
    ts = build_training_set(load_dataset(data_dir, DataConfig()), pd.Timestamp("2025-06-01"), Config())
    return ts, train_target(ts, "churn", Config().with_overrides({"training.min_positives": 5}))


def test_contributions_add_up_to_calibrated_probability(trained):
    ts, result = trained
    X = ts.features.head(200)
    points, prob, base = contributions(result.model, X)
    assert np.allclose(base + points.sum(axis=1).to_numpy(), prob, atol=1e-9)
    assert np.allclose(prob, result.model.predict(X))
    long = long_explanations("churn", points, X, base)
    assert len(long) == points.size
    per_row = long["contribution"].to_numpy().reshape(points.shape).sum(axis=1) + base
    assert np.allclose(per_row, prob, atol=1e-9)
    assert (
        long["account_id"].to_numpy().reshape(points.shape)[:, 0] == X.index.get_level_values("account_id")
    ).all()


def test_log_odds_contributions_add_up_to_the_blended_log_odds(trained):
    """TreeSHAP's values of the booster and the regression's exact terms, weighted as the blend weighs them."""
    ts, result = trained
    model = result.model
    assert model.linear is not None
    X = model.spec.encode(ts.features.head(200)).to_numpy()
    phi = log_odds_contributions(model, X)
    raw = model.raw_encoded(X)
    np.testing.assert_allclose(phi.sum(axis=1), np.log(raw / (1 - raw)), atol=1e-8)
    w = model.linear_weight
    trees = model.booster.predict(X, pred_contrib=True)
    terms, base = model.linear.contributions(X)
    np.testing.assert_allclose(phi[:, :-1], (1 - w) * trees[:, :-1] + w * terms, atol=1e-10)
    np.testing.assert_allclose(phi[:, -1], (1 - w) * trees[:, -1] + w * base, atol=1e-10)


def test_contributions_match_shap_treeexplainer_signs(trained):
    shap = pytest.importorskip("shap")
    ts, result = trained
    X = result.model.spec.encode(ts.features.head(30))
    explainer = shap.TreeExplainer(result.model.booster)
    values = explainer.shap_values(X)
    values = values[1] if isinstance(values, list) else values
    contrib = result.model.booster.predict(X, pred_contrib=True)[:, :-1]
    assert np.allclose(values, contrib, atol=1e-6)


def test_reasons_are_plain_and_signed():
    drivers = top_drivers(
        pd.DataFrame(
            {
                "account_id": ["a", "a"],
                "target": ["churn", "churn"],
                "feature": ["spend_trend_90d", "exec_contacts_180d"],
                "value": [-0.38, 0.0],
                "value_text": ["", ""],
                "contribution": [0.12, 0.05],
                "base": [0.1, 0.1],
            }
        )
    )
    rating = pd.DataFrame(
        {
            "account_id": ["a"],
            "criterion": ["fit"],
            "attribute": ["culture_fit"],
            "value": ["good"],
            "score": [1.0],
            "points": [4.0],
            "known": [True],
            "sentence": ["Good culture fit"],
        }
    )
    reasons = build_reasons(drivers, rating, pd.Index(["a", "b"]))
    assert reasons["a"].startswith("Spend fell 38% vs the previous 90 days (churn risk +12.0 pts)")
    assert "Good culture fit (rating +4.0 pts)" in reasons["a"]
    assert reasons["b"] == ""


def test_reason_items_mix_model_and_rating_and_fill_free_slots():
    drivers = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b", "c"],
            "target": ["churn", "expansion", "churn", "churn", "expansion"],
            "feature": ["f1", "f2", "f3", "f1", "f2"],
            "contribution": [0.12, -0.20, 0.01, 0.034, 0.0456],
            "phrase": ["Spend fell", "Few contacts", "Late payments", "Spend fell", "Few contacts"],
        }
    )
    rating = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "b"],
            "criterion": ["fit", "health", "fit", "health", "size"],
            "points": [4.0, -6.0, 2.0, 0.0, -3.04],
            "known": [True, True, True, True, True],
            "sentence": ["Good fit", "Poor health", "Good fit", "Healthy", "Small payoff"],
        }
    )
    items = reason_items(drivers, rating, pd.Index(["a", "b", "c", "d"]))
    by = {
        a: list(zip(g["phrase"], g["points"], g["source"], g["target"], strict=True))
        for a, g in items.groupby("account_id")
    }
    # a: two strongest drivers by |points|, then its strongest criterion
    assert by["a"] == [
        ("Few contacts", -20.0, "model", "expansion"),
        ("Spend fell", 12.0, "model", "churn"),
        ("Poor health", -6.0, "rating", ""),
    ]
    # b: one driver, so the rating fills two slots (zero-point criteria are no reason)
    assert by["b"] == [
        ("Spend fell", 3.4, "model", "churn"),
        ("Small payoff", -3.0, "rating", ""),
        ("Good fit", 2.0, "rating", ""),
    ]
    assert by["c"] == [("Few contacts", 4.6, "model", "expansion")]
    assert "d" not in by
    text = reasons_text(items, pd.Index(["a", "b", "c", "d"]))
    assert (
        text["a"]
        == "Few contacts (expansion -20.0 pts); Spend fell (churn risk +12.0 pts); Poor health (rating -6.0 pts)"
    )
    assert text["d"] == ""
    wide = reason_columns(items, pd.Index(["a", "b", "c", "d"]))
    assert tuple(wide.columns) == REASON_COLUMNS
    assert wide.loc["c", "reason_1"] == "Few contacts" and wide.loc["c", "reason_2"] == ""
    assert np.isnan(wide.loc["c", "reason_2_points"]) and wide.loc["d", "reason_1_source"] == ""
    assert wide.loc["b", "reason_3_points"] == 2.0 and wide.loc["b", "reason_3_source"] == "rating"


def test_an_account_leads_with_the_drivers_of_the_target_it_stands_out_on():
    # a Grow-type account: churn drivers carry more points (churn probabilities are larger), but it is
    # 3x as likely as usual to expand and about as likely as usual to churn, so its reasons say why it may grow
    drivers = pd.DataFrame(
        {
            "account_id": ["g", "g", "g", "g", "s", "s", "s"],
            "target": ["churn", "churn", "expansion", "expansion", "churn", "expansion", "expansion"],
            "feature": ["f1", "f3", "f2", "f4", "f1", "f2", "f4"],
            "contribution": [0.05, -0.04, 0.03, 0.01, 0.02, 0.09, 0.08],
            "phrase": [
                "Few orders",
                "Busy",
                "New decision-maker",
                "Trial order",
                "Few orders",
                "Exec met",
                "Trial",
            ],
        }
    )
    probabilities = pd.DataFrame(
        {"churn_probability": [0.10, 0.50, np.nan], "expansion_probability": [0.15, 0.10, 0.2]},
        index=pd.Index(["g", "s", "p"]),
    )
    lead = lead_targets(probabilities, {"churn": 0.1, "expansion": 0.05})
    assert lead.to_dict() == {"g": "expansion", "s": "churn", "p": None}
    by = {
        a: list(g["phrase"])
        for a, g in reason_items(drivers, None, pd.Index(["g", "s"]), lead=lead).groupby("account_id")
    }
    assert by["g"] == ["New decision-maker", "Trial order", "Few orders"]  # the third slot: the other target
    assert by["s"] == ["Few orders", "Exec met", "Trial"]
    # without a lead: strongest first, whatever the target
    plain = reason_items(drivers, None, pd.Index(["g"]))
    assert list(plain["phrase"]) == ["Few orders", "Busy", "New decision-maker"]
    # no model base for a target (a missing model): nobody leads
    assert lead_targets(probabilities, {"churn": 0.1}).isna().all()


def test_a_leading_target_shows_what_raises_it_before_what_holds_it_back():
    # an account at risk whose largest churn points lower its risk (a big spender, all else equal): the
    # reasons say first why it may leave, then what holds the risk back, then the other target
    drivers = pd.DataFrame(
        {
            "account_id": ["s"] * 4,
            "target": ["churn", "churn", "churn", "expansion"],
            "feature": ["spend_180d", "overdue", "tickets", "contacts"],
            "contribution": [-0.30, 0.10, 0.05, 0.20],
            "phrase": [
                "Spend in the last 180 days: 700,000",
                "Next order overdue",
                "4 tickets",
                "New contact",
            ],
        }
    )
    lead = pd.Series({"s": "churn"})
    items = reason_items(drivers, None, pd.Index(["s"]), k_model=3, lead=lead)
    assert list(items["phrase"]) == ["Next order overdue", "4 tickets", "Spend in the last 180 days: 700,000"]
    assert list(items["points"]) == [10.0, 5.0, -30.0]  # points keep their sign
    # without a lead: strongest first, whatever the sign or target
    plain = reason_items(drivers, None, pd.Index(["s"]), k_model=3)
    assert list(plain["phrase"]) == [
        "Spend in the last 180 days: 700,000",
        "New contact",
        "Next order overdue",
    ]


def test_top_drivers_pick_the_strongest_allowed_features_ties_by_name():
    # account b ties spend_365d and orders_90d at 0.04: the first name wins the third slot; month_of_year may
    # never be a reason and days_since_last_purchase not one for expansion; 0.0004 is below the floor
    rows = [
        ("b", "churn", "spend_trend_90d", -0.10),
        ("b", "churn", "spend_365d", 0.04),
        ("b", "churn", "orders_90d", -0.04),
        ("b", "churn", "month_of_year", 0.30),
        ("b", "churn", "exec_contacts_180d", 0.05),
        ("a", "expansion", "days_since_last_purchase", 0.20),
        ("a", "expansion", "spend_365d", 0.0004),
        ("a", "expansion", "industry", -0.01),
        ("a", "churn", "spend_365d", 0.02),
    ]
    long = pd.DataFrame(rows, columns=["account_id", "target", "feature", "contribution"]).assign(
        value=1.0, value_text="", base=0.1
    )
    drivers = top_drivers(long)
    got = list(zip(drivers["account_id"], drivers["target"], drivers["feature"], strict=True))
    assert got == [
        ("a", "churn", "spend_365d"),
        ("a", "expansion", "industry"),
        ("b", "churn", "spend_trend_90d"),
        ("b", "churn", "exec_contacts_180d"),
        ("b", "churn", "orders_90d"),
    ]
    assert drivers["contribution"].tolist() == [0.02, -0.01, -0.10, 0.05, -0.04]
    assert drivers["phrase"].map(len).gt(0).all()


def test_a_raising_driver_takes_the_last_place_when_the_strongest_all_lower_the_probability():
    # c's three strongest expansion drivers hold it back; the strongest that raises it (0.006, not 0.005)
    # takes the third place, so a Grow can say why it may grow; d has no raising driver and keeps its top 3
    rows = [
        ("c", "expansion", "spend_365d", -0.03),
        ("c", "expansion", "orders_90d", -0.02),
        ("c", "expansion", "spend_trend_90d", -0.01),
        ("c", "expansion", "exec_contacts_180d", -0.009),
        ("c", "expansion", "new_contacts_90d", 0.006),
        ("c", "expansion", "products_365d", 0.005),
        ("d", "expansion", "spend_365d", -0.03),
        ("d", "expansion", "orders_90d", -0.02),
        ("d", "expansion", "spend_trend_90d", -0.01),
        ("d", "expansion", "exec_contacts_180d", -0.009),
    ]
    long = pd.DataFrame(rows, columns=["account_id", "target", "feature", "contribution"]).assign(
        value=1.0, value_text="", base=0.1
    )
    drivers = top_drivers(long)
    got = drivers.groupby("account_id")["feature"].agg(list).to_dict()
    assert got == {
        "c": ["spend_365d", "orders_90d", "new_contacts_90d"],
        "d": ["spend_365d", "orders_90d", "spend_trend_90d"],
    }
    # the reasons of c, led by expansion, open with the driver that raises it
    items = reason_items(
        drivers, None, pd.Index(["c", "d"]), lead=pd.Series({"c": "expansion", "d": "expansion"})
    )
    first = items[items["position"] == 1].set_index("account_id")["points"]
    assert first["c"] == 0.6 and first["d"] == -3.0


def test_drivers_read_from_the_contributions_match_top_drivers_of_the_long_table(trained):
    from potential.scoring.explain import explained_drivers

    ts, result = trained
    cutoffs = ts.features.index.get_level_values("cutoff")
    X = ts.features[cutoffs == cutoffs.max()].head(300)  # one row per account, as `rank` scores them
    parts, longs = [], []
    for target in ("expansion", "churn"):  # not in name order: the drivers still sort churn first
        points, _, base = contributions(result.model, X)
        points = points * (1.0 if target == "churn" else -0.5)
        parts.append((target, points))
        longs.append(long_explanations(target, points, X, base))
    long = pd.concat(longs, ignore_index=True)
    expected = top_drivers(long)
    assert len(expected) > 300 and set(expected["target"]) == {"churn", "expansion"}
    pd.testing.assert_frame_equal(explained_drivers(parts, long), expected)
    # several rows per account (account x cutoff): the top k of each account over all its rows
    Y = ts.features.head(300)
    assert not Y.index.get_level_values("account_id").is_unique
    points, _, base = contributions(result.model, Y)
    long = long_explanations("churn", points, Y, base)
    drivers = explained_drivers([("churn", points)], long)
    pd.testing.assert_frame_equal(drivers, top_drivers(long))
    assert drivers.groupby("account_id").size().max() == 3


def test_probabilities_without_explanations_are_the_explained_ones(trained, monkeypatch):
    from potential.scoring import accounts
    from potential.scoring.explain import probabilities

    ts, result = trained
    X = ts.features.head(200)
    _, prob, _ = contributions(result.model, X)
    np.testing.assert_array_equal(probabilities(result.model, X), prob)
    champions = {"churn": type("Champion", (), {"model": result.model})()}
    explained, parts, _ = accounts.model_scores(X, champions, Config())
    assert [target for target, _, _ in parts] == ["churn"]

    def no_treeshap(*args, **kwargs):
        raise AssertionError("scores without explanations must not run TreeSHAP")

    monkeypatch.setattr(accounts, "contributions", no_treeshap)
    plain, none, notes = accounts.model_scores(X, champions, Config(), explain=False)
    assert none == [] and notes == ["expansion: no champion model, so not scored."]
    pd.testing.assert_frame_equal(plain, explained)
    assert plain["expansion_probability"].isna().all() and plain["expected_uplift"].isna().all()


def test_nested_windows_of_one_signal_are_explained_as_one():
    """Overlapping windows can carry large opposite parts that cancel; the family's sum goes to the window
    pulling its way hardest, the others show 0, and nothing else moves."""
    columns = [
        "spend_30d",
        "orders_30d",
        "spend_365d",
        "spend_lifetime",
        "meeting_90d",
        "meeting_365d",
        "industry",
    ]
    families = window_families(columns)
    assert [columns[j] for f in families for j in f] == ["spend_30d", "spend_365d", "spend_lifetime"] + [
        "meeting_90d",
        "meeting_365d",
    ]  # orders_30d has no other window; industry none
    points = np.array(
        [
            [0.30, 0.02, -0.25, 0.01, -0.11, 0.14, 0.05],  # spend: +0.06 net, meetings: +0.03 net
            [-0.40, 0.00, 0.10, -0.05, 0.00, 0.00, -0.01],  # spend: -0.35 net
        ]
    )
    pooled = pool_windows(points, families)
    np.testing.assert_allclose(pooled.sum(axis=1), points.sum(axis=1))
    np.testing.assert_allclose(pooled[0], [0.06, 0.02, 0, 0, 0, 0.03, 0.05], atol=1e-12)
    np.testing.assert_allclose(pooled[1], [-0.35, 0, 0, 0, 0, 0, -0.01], atol=1e-12)


def test_contributions_pool_the_windows_and_still_add_up(trained):
    ts, result = trained
    X = ts.features.head(200)
    points, prob, base = contributions(result.model, X)
    for members in window_families(list(points.columns)):
        assert ((points.iloc[:, members] != 0).sum(axis=1) <= 1).all()  # one window speaks per family
    np.testing.assert_allclose(base + points.sum(axis=1), prob, atol=1e-9)
