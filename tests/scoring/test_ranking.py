import numpy as np
import pandas as pd

from potential.config import RankingConfig
from potential.scoring.ranking import (
    GROW_REASONS,
    assign_tiers,
    compare_with_previous,
    concentration,
    may_grow,
    priority,
    rank_accounts,
    save_applies,
)


def scored(n=10):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "expansion_probability": rng.uniform(size=n),
            "expected_uplift": rng.uniform(0, 1000, n),
            "churn_probability": rng.uniform(size=n),
            "revenue_at_risk": rng.uniform(0, 1000, n),
            "rating_score": rng.uniform(0, 100, n),
            "potential_multiple": rng.uniform(0, 20, n),
            "is_prospect": [False] * n,
        }
    )


def test_priority_formula_and_ablation():
    frame = scored()
    config = RankingConfig()
    expected = (
        frame.expansion_probability * frame.expected_uplift + frame.churn_probability * frame.revenue_at_risk
    ) * (1 + 0.5 * (frame.rating_score - 50) / 50)
    assert np.allclose(priority(frame, config), expected)
    models_only = RankingConfig(rating_weight=0)
    assert np.allclose(priority(frame, models_only), expected / (1 + 0.5 * (frame.rating_score - 50) / 50))


def test_tiers_by_share_of_accounts():
    tiers = assign_tiers(pd.Series(np.arange(10, 0, -1)), {"A": 0.2, "B": 0.3, "C": 0.5})
    assert list(tiers) == ["A"] * 2 + ["B"] * 3 + ["C"] * 5


# A hand-built portfolio of ten accounts whose priority, rank, tier and action are worked out by hand with
# the default config (Save >= 0.35 churn and saving value >= growing value; Grow >= 0.30 expansion;
# Nurture = prospect, or rating >= 60 with potential >= 10 x the average deal; tiers 20/30/50%).
#              churn  at risk  expand  uplift rating multiple prospect value
KNOWN = {
    "a01": (0.60, 10_000, 0.10, 1_000, 50, 1.0, False, 0),  # 6000 + 100 = 6100
    "a02": (0.50, 1_000, 0.40, 5_000, 50, 1.0, False, 0),  # 500 + 2000 = 2500: saving < growing
    "a03": (0.10, 2_000, 0.20, 1_000, 80, 12.0, False, 0),  # (200 + 200) x 1.3 = 520
    "a04": (0.20, 500, 0.10, 100, 40, 2.0, False, 0),  # (100 + 10) x 0.9 = 99
    "a05": (np.nan, 0, np.nan, np.nan, 60, 0.0, True, 300),  # prospect: 300 x 1.1 = 330
    "a06": (0.40, 100, 0.35, 10, 50, 1.0, False, 0),  # 40 + 3.5 = 43.5
    "a07": (0.30, 100, 0.35, 100, 50, 1.0, False, 0),  # 30 + 35 = 65: churn below 0.35
    "a08": (0.36, 100, 0.50, 100, 50, 1.0, False, 0),  # 36 + 50 = 86: saving < growing
    "a09": (0.00, 0, 0.00, 0, 100, 9.99, False, 0),  # 0: below the high-value multiple of 10
    "a10": (0.05, 20, 0.05, 20, 0, 1.0, False, 0),  # (1 + 1) x 0.5 = 1
}
EXPECTED = [  # rank order: account, priority, tier, action
    ("a01", 6100.0, "A", "Save"),
    ("a02", 2500.0, "A", "Grow"),
    ("a03", 520.0, "B", "Nurture"),
    ("a05", 330.0, "B", "Nurture"),
    ("a04", 99.0, "B", "Maintain"),
    ("a08", 86.0, "C", "Grow"),
    ("a07", 65.0, "C", "Grow"),
    ("a06", 43.5, "C", "Save"),
    ("a10", 1.0, "C", "Maintain"),
    ("a09", 0.0, "C", "Maintain"),
]


def known_portfolio() -> pd.DataFrame:
    columns = (
        "churn_probability",
        "revenue_at_risk",
        "expansion_probability",
        "expected_uplift",
        "rating_score",
        "potential_multiple",
        "is_prospect",
        "prospect_value",
    )
    frame = pd.DataFrame.from_dict(KNOWN, orient="index", columns=list(columns))
    return (
        frame.rename_axis("account_id").reset_index().sample(frac=1, random_state=1)
    )  # order must not matter


def test_known_portfolio_ranks_tiers_and_actions_exactly():
    ranked = rank_accounts(known_portfolio(), RankingConfig())
    got = list(
        zip(ranked["account_id"], ranked["priority_score"], ranked["tier"], ranked["action"], strict=True)
    )
    assert [(a, round(p, 6), t, x) for a, p, t, x in got] == EXPECTED
    assert ranked["rank"].tolist() == list(range(1, 11))
    assert ranked["high_value"].tolist() == [a in {"a03"} for a in ranked["account_id"]]
    rules = dict(zip(ranked["account_id"], ranked["action_rule"], strict=True))
    assert rules["a01"] == "Save: churn probability 0.60 >= 0.35 and saving value 6,000 >= growing value 100"
    assert rules["a08"] == "Grow: expansion probability 0.50 >= 0.30 with expected uplift worth 50.00"
    assert rules["a05"] == "Nurture: prospect without purchase history"
    assert rules["a09"] == "Maintain: no Save, Grow or Nurture rule applies"


def test_save_and_may_grow_read_each_account_alone_and_agree_with_the_actions():
    portfolio, config = known_portfolio(), RankingConfig()
    ranked = rank_accounts(portfolio, config).set_index("account_id")
    saves = portfolio["account_id"][save_applies(portfolio, config)]
    assert set(saves) == set(ranked.index[ranked["action"] == "Save"])
    # every account Grow picks may grow; the bar (the portfolio's) decides which of those it picks
    candidates = set(portfolio["account_id"][may_grow(portfolio, config)])
    assert set(ranked.index[ranked["action"] == "Grow"]) <= candidates
    one = portfolio[portfolio["account_id"] == "a01"]  # a Save alone is still a Save
    assert save_applies(one, config).tolist() == [True]


def test_a_grow_account_shows_the_reasons_led_by_its_expansion_drivers():
    portfolio = known_portfolio()
    portfolio["reasons"] = "Spend fell 40% (churn risk +6.0 pts)"
    portfolio["reason_1_target"] = "churn"
    for account in ("a08", "a09"):  # prepared by scoring for two accounts Grow may pick
        row = portfolio["account_id"] == account
        portfolio.loc[row, f"{GROW_REASONS}reasons"] = "Tried 2 new products (expansion +3.0 pts)"
        portfolio.loc[row, f"{GROW_REASONS}reason_1_target"] = "expansion"
    ranked = rank_accounts(portfolio, RankingConfig()).set_index("account_id")
    assert ranked.loc["a08", "action"] == "Grow" and ranked.loc["a09", "action"] == "Maintain"
    assert ranked.loc["a08", "reasons"] == "Tried 2 new products (expansion +3.0 pts)"
    assert ranked.loc["a08", "reason_1_target"] == "expansion"
    assert ranked.loc["a09", "reasons"] == "Spend fell 40% (churn risk +6.0 pts)"  # not a Grow: unchanged
    assert ranked.loc["a09", "reason_1_target"] == "churn"
    assert not [c for c in ranked.columns if c.startswith(GROW_REASONS)]


def test_action_thresholds_come_from_the_config():
    strict = RankingConfig(
        actions={"save_min_churn_probability": 0.7, "grow_min_expansion_probability": 0.45}
    )
    ranked = rank_accounts(known_portfolio(), strict).set_index("account_id")
    # nobody reaches churn 0.7; a02 and a07 (expansion 0.40, 0.35) fall below 0.45; a08 (0.50) still grows
    assert not (ranked["action"] == "Save").any()
    assert ranked.loc[["a01", "a02", "a06", "a07"], "action"].tolist() == ["Maintain"] * 4
    assert ranked.loc["a08", "action"] == "Grow" and ranked.loc["a03", "action"] == "Nurture"


def test_grow_bar_falls_to_a_multiple_of_the_average_when_expansion_is_rare():
    rare = known_portfolio().assign(expansion_probability=lambda f: f["expansion_probability"] / 10)
    lift = RankingConfig(actions={"grow_min_expansion_lift": 1.5})
    ranked = rank_accounts(rare, lift).set_index("account_id")
    average = rare.loc[~rare["is_prospect"].fillna(False).astype(bool), "expansion_probability"].mean()
    bar = 1.5 * average  # below the configured 0.30, so it applies
    assert bar < 0.3
    grows = ranked.index[ranked["action"] == "Grow"]
    assert len(grows) > 0
    assert (ranked.loc[grows, "expansion_probability"] >= bar).all()
    assert f">= {bar:.3f}" in ranked.loc[grows[0], "action_rule"]
    # with the multiple set high the fixed bar applies and nobody reaches it
    strict = RankingConfig(actions={"grow_min_expansion_lift": 100.0})
    assert not (rank_accounts(rare, strict)["action"] == "Grow").any()


def test_concentration_curve_ends_at_one():
    curve = concentration(pd.Series([5.0, 3.0, 1.0, 1.0]))
    assert curve["priority_share"].iloc[-1] == 1.0 and curve["priority_share"].iloc[0] == 0.5


def test_what_changed():
    current = rank_accounts(scored(5), RankingConfig())
    previous = current.assign(rank=current["rank"][::-1].to_numpy()).iloc[1:]
    changed = compare_with_previous(current, previous)
    assert changed["new_entrant"].sum() == 1
    row = changed[~changed["new_entrant"]].iloc[0]
    assert row["rank_delta"] == row["previous_rank"] - row["rank"]


def test_profile_only_priority_uses_probabilities():
    frame = scored(6).assign(
        expected_uplift=np.nan, revenue_at_risk=np.nan, expansion_probability=np.nan, rating_score=50.0
    )
    ranked = rank_accounts(frame, RankingConfig())
    assert np.allclose(ranked["priority_score"], ranked["churn_probability"].round(6), atol=1e-6)
    assert ranked["churn_probability"].is_monotonic_decreasing


def test_a_lapsed_account_is_a_win_back_not_a_save():
    frame = known_portfolio().assign(status="active")
    frame.loc[frame["account_id"] == "a01", "status"] = "lapsed"  # churn 0.60: would be the top Save
    ranked = rank_accounts(frame, RankingConfig()).set_index("account_id")
    assert ranked.loc["a01", "action"] == "Nurture"
    assert ranked.loc["a01", "action_rule"].startswith("Nurture: lapsed")
    assert ranked.loc["a06", "action"] == "Save"  # an active account with the same kind of risk still is
