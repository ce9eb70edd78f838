"""Blend model scores and the rating profile into one priority, tiers (80/20), high-value flag and actions.

priority = (growth_weight x P(expand) x expected_uplift + save_weight x P(churn) x revenue_at_risk)
           x (1 + rating_weight x (rating_score - 50) / 50)

Both money terms are over the next horizon: expected_uplift is the extra spend if the account expands,
revenue_at_risk the account's baseline (its trailing-year run rate, or last year's same season: what it is
expected to spend if kept; docs/targets.md).
A rating of 50 leaves the priority unchanged; rating_weight = 0 ranks on the models alone (an ablation).
Without any money in the data (profile-only tables), the money terms are 1 per account, so the priority is
in probability units: P(expand) + P(churn), adjusted by the rating.
Prospects (no purchase history) have no model scores: their value is the rating-weighted share of the peer
potential they could bring over the horizon (`prospect_value`), and their action is Nurture. Lapsed accounts
(no purchase in time.active_lookback_days) have nothing left at risk: they are valued like prospects (what
winning them back could bring) and their action is Nurture, a win-back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from potential.config import RankingConfig

PROSPECT_CONVERSION = 0.1
# prefix of the columns holding an account's reasons led by its expansion drivers (`show_grow_reasons`)
GROW_REASONS = "grow:"


def _money(frame: pd.DataFrame, column: str) -> pd.Series:
    """The money column, or 1 per account when the data holds no money at all (profile-only tables)."""
    values = frame[column]
    if values.isna().all():
        return pd.Series(1.0, index=frame.index)
    return values.fillna(0)


def growth_value(frame: pd.DataFrame) -> pd.Series:
    return frame["expansion_probability"].fillna(0) * _money(frame, "expected_uplift")


def save_value(frame: pd.DataFrame) -> pd.Series:
    return frame["churn_probability"].fillna(0) * _money(frame, "revenue_at_risk")


def priority(frame: pd.DataFrame, config: RankingConfig) -> pd.Series:
    grow = growth_value(frame)
    save = save_value(frame)
    value = config.growth_weight * grow + config.save_weight * save
    if "prospect_value" in frame.columns:
        value = value + config.growth_weight * frame["prospect_value"].fillna(0)
    rating = frame["rating_score"].fillna(50.0)
    return (value * (1 + config.rating_weight * (rating - 50) / 50)).clip(lower=0).rename("priority_score")


def assign_tiers(priority_sorted: pd.Series, shares: dict[str, float]) -> np.ndarray:
    """Tier by position in the ranked list: the first share of accounts is the first tier, and so on."""
    n = len(priority_sorted)
    bounds = np.cumsum(list(shares.values()))
    position = (np.arange(n) + 1) / max(n, 1)
    index = np.searchsorted(bounds + 1e-9, position, side="left")
    index = np.minimum(index, len(shares) - 1)
    return np.array(list(shares.keys()), dtype=object)[index]


def grow_bar(frame: pd.DataFrame, config: RankingConfig) -> float:
    """The expansion probability Grow needs: the configured bar, or the lift over the portfolio's average
    (over the accounts that are not prospects) when that is lower."""
    rules = config.actions
    prospect = frame.get("is_prospect", pd.Series(False, index=frame.index)).fillna(False).astype(bool)
    p_exp = frame.loc[~prospect.to_numpy(), "expansion_probability"].astype(float)
    mean = float(p_exp.mean()) if len(p_exp) else float("nan")
    if not np.isfinite(mean) or mean <= 0:
        return rules.grow_min_expansion_probability
    return min(rules.grow_min_expansion_probability, rules.grow_min_expansion_lift * mean)


def _prospect_and_lapsed(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    prospect = (
        frame.get("is_prospect", pd.Series(False, index=frame.index)).fillna(False).astype(bool).to_numpy()
    )
    status = frame["status"] if "status" in frame.columns else pd.Series("", index=frame.index)
    return prospect, (status == "lapsed").to_numpy()


def save_applies(frame: pd.DataFrame, config: RankingConfig) -> np.ndarray:
    """Whether the Save rule picks each account: it reads the account alone, so a partition of the
    portfolio knows it before the ranking (`choose_actions` evaluates it first)."""
    prospect, lapsed = _prospect_and_lapsed(frame)
    p_churn = frame["churn_probability"].to_numpy(dtype=float)
    save, grow = save_value(frame).to_numpy(), growth_value(frame).to_numpy()
    return (
        ~lapsed
        & ~prospect
        & (np.nan_to_num(p_churn, nan=-1.0) >= config.actions.save_min_churn_probability)
        & (save >= grow)
        & (save > 0)
    )


def may_grow(frame: pd.DataFrame, config: RankingConfig) -> np.ndarray:
    """Whether Grow can pick each account: every condition but its bar, which depends on the whole
    portfolio's expansion probabilities (`grow_bar`) and is only known at the ranking."""
    prospect, lapsed = _prospect_and_lapsed(frame)
    p_exp = np.nan_to_num(frame["expansion_probability"].to_numpy(dtype=float), nan=0.0)
    return (
        ~lapsed
        & ~prospect
        & ~save_applies(frame, config)
        & (p_exp > 0)
        & (growth_value(frame) > 0).to_numpy()
    )


def show_grow_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """An account whose action is Grow shows the reasons led by its expansion drivers where scoring
    prepared them (the GROW_REASONS columns, `may_grow`), so a manager reads why it may grow; the prepared
    columns are dropped."""
    prepared = [c for c in frame.columns if str(c).startswith(GROW_REASONS)]
    if not prepared:
        return frame
    shown = (frame["action"] == "Grow").to_numpy() & frame[f"{GROW_REASONS}reasons"].notna().to_numpy()
    out = frame.drop(columns=prepared)
    for column in prepared:
        target = column[len(GROW_REASONS) :]
        values = out[target].to_numpy(copy=True)
        values[shown] = frame[column].to_numpy()[shown]
        out[target] = values
    return out


def choose_actions(frame: pd.DataFrame, config: RankingConfig) -> tuple[pd.Series, pd.Series]:
    """Action and the rule that chose it, evaluated in order: Save, Grow, Nurture, Maintain."""
    rules = config.actions
    bar = grow_bar(frame, config)
    grow = growth_value(frame).to_numpy()
    save = save_value(frame).to_numpy()
    p_churn = frame["churn_probability"].to_numpy(dtype=float)
    p_exp = frame["expansion_probability"].to_numpy(dtype=float)
    rating = frame["rating_score"].fillna(50).to_numpy(dtype=float)
    prospect, lapsed = _prospect_and_lapsed(frame)
    saving = save_applies(frame, config)
    high_value = frame["high_value"].astype(bool).to_numpy()
    actions, why = [], []
    for i in range(len(frame)):
        if lapsed[i]:
            actions.append("Nurture")
            why.append("Nurture: lapsed (no purchase in the lookback window), a win-back, not a save")
        elif saving[i]:
            actions.append("Save")
            why.append(
                f"Save: churn probability {p_churn[i]:.2f} >= {rules.save_min_churn_probability:.2f} and saving value "
                f"{_fmt(save[i])} >= growing value {_fmt(grow[i])}"
            )
        elif not prospect[i] and p_exp[i] >= bar and grow[i] > 0:
            actions.append("Grow")
            why.append(
                f"Grow: expansion probability {_p(p_exp[i])} >= {_p(bar)} with expected uplift worth {_fmt(grow[i])}"
            )
        elif prospect[i] or (rating[i] >= rules.nurture_min_rating_score and high_value[i]):
            actions.append("Nurture")
            why.append(
                "Nurture: prospect without purchase history"
                if prospect[i]
                else f"Nurture: rating {rating[i]:.0f} >= {rules.nurture_min_rating_score:.0f} and high-value potential, "
                "but no strong model signal yet"
            )
        else:
            actions.append("Maintain")
            why.append("Maintain: no Save, Grow or Nurture rule applies")
    return pd.Series(actions, index=frame.index, name="action"), pd.Series(
        why, index=frame.index, name="action_rule"
    )


def _p(value: float) -> str:
    """A probability with two decimals, three below 0.1 (a rare event's bar reads 0.054, not 0.05)."""
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def action_rule_texts(config: RankingConfig) -> list[str]:
    r = config.actions
    return [
        f"Save: churn probability >= {r.save_min_churn_probability:.2f} and P(churn) x revenue at risk >= P(expand) x expected uplift",
        f"Grow: expansion probability >= {r.grow_min_expansion_probability:.2f}, or >= "
        f"{r.grow_min_expansion_lift:g} x the portfolio's average when that is lower (and Save does not apply)",
        f"Nurture: a prospect or a lapsed account (win-back), or rating >= {r.nurture_min_rating_score:.0f} with high-value potential",
        "Maintain: everything else",
    ]


def rank_accounts(scored: pd.DataFrame, config: RankingConfig) -> pd.DataFrame:
    """Add priority_score, rank, tier, high_value, action and action_rule; sorted by rank (ties by account id)."""
    frame = scored.copy()
    multiple = (
        frame["potential_multiple"]
        if "potential_multiple" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    frame["high_value"] = multiple.fillna(0) >= config.high_value_multiple
    frame["priority_score"] = priority(frame, config).round(6)
    frame = frame.sort_values(["priority_score", "account_id"], ascending=[False, True], kind="mergesort")
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame["tier"] = assign_tiers(frame["priority_score"], config.tier_shares)
    frame["action"], frame["action_rule"] = choose_actions(frame, config)
    return show_grow_reasons(frame).reset_index(drop=True)


def concentration(priority_sorted: pd.Series) -> pd.DataFrame:
    """Cumulative share of priority vs share of accounts (the 80/20 curve)."""
    values = priority_sorted.to_numpy(dtype=float)
    total = values.sum()
    return pd.DataFrame(
        {
            "account_share": (np.arange(1, len(values) + 1)) / max(len(values), 1),
            "priority_share": np.cumsum(values) / total if total > 0 else np.zeros(len(values)),
        }
    )


def compare_with_previous(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """'What changed' columns: rank_delta (positive = moved up), new_entrant, previous_tier, tier_change."""
    prev = previous.drop_duplicates("account_id").set_index(previous["account_id"].astype(str))
    ids = current["account_id"].astype(str)
    prev_rank = ids.map(prev["rank"]) if "rank" in prev.columns else pd.Series(np.nan, index=current.index)
    prev_tier = ids.map(prev["tier"]) if "tier" in prev.columns else pd.Series(np.nan, index=current.index)
    out = current.copy()
    out["previous_rank"] = pd.to_numeric(prev_rank, errors="coerce").astype("Int64")
    out["rank_delta"] = (out["previous_rank"] - out["rank"]).astype("Int64")
    out["new_entrant"] = ~ids.isin(prev.index)
    out["previous_tier"] = prev_tier.fillna("").astype(str)
    out["tier_change"] = np.where(
        out["new_entrant"] | (out["previous_tier"] == out["tier"].astype(str)),
        "",
        out["previous_tier"] + " -> " + out["tier"].astype(str),
    )
    return out
