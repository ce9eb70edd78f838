"""Scores of a set of accounts: calibrated probabilities, money at stake, explanations, rating and reasons.

Everything here is per account, so an engine can run it on the whole portfolio or on one partition of it;
the portfolio-wide steps (ranking, tiers) come after, in `potential.scoring.ranking`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from potential.config import Config
from potential.data.schema import Dataset
from potential.labels.targets import baseline_at
from potential.models.training import TARGETS
from potential.scoring.explain import (
    contributions,
    explained_drivers,
    lead_targets,
    long_explanations,
    probabilities,
    reason_columns,
    reason_items,
    reasons_text,
)
from potential.scoring.ranking import GROW_REASONS, PROSPECT_CONVERSION, may_grow, save_applies
from potential.scoring.rating import profile_warnings, rate_accounts

HISTORY_MONTHS = 24


def customers_of(feats: pd.DataFrame) -> np.ndarray:
    """Which accounts get model scores: every account but the prospects (no purchase history)."""
    if "is_prospect" in feats.columns:
        return (feats["is_prospect"] != 1).to_numpy()
    return np.ones(len(feats), dtype=bool)


def model_scores(
    feats: pd.DataFrame, models: dict, config: Config, explain: bool = True
) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame, pd.DataFrame]], list[str]]:
    """The scores `models` give the accounts of `feats`: churn_probability, expansion_probability and
    expected_uplift (index of `feats`; NaN for prospects and for a target without a model), with each
    target's explanations when `explain`, as (target, contributions [accounts x features], long table) —
    TreeSHAP, the costly step, runs once per account and model — and the notes of the missing models.

    Without `explain` only the boosters' predictions run: the same probabilities, a small share of the time.
    """
    frame = pd.DataFrame(index=feats.index)
    notes: list[str] = []
    explanations = []
    # prospects get no probability and no explanation: the boosters skip them
    customers = customers_of(feats)
    scored = feats.loc[customers]
    threads = config.training.lightgbm.n_jobs
    for target in TARGETS:
        champ = models.get(target)
        if champ is None:
            frame[f"{target}_probability"] = np.nan
            notes.append(f"{target}: no champion model, so not scored.")
            continue
        if explain:
            points, prob, base = contributions(champ.model, scored, threads)
            explanations.append((target, points, long_explanations(target, points, scored, base)))
        else:
            prob = probabilities(champ.model, scored, threads)
        probability = np.full(len(feats), np.nan)
        probability[customers] = prob
        frame[f"{target}_probability"] = probability
    uplift = models.get("uplift")
    if uplift is not None and models.get("expansion") is not None:
        expected = np.full(len(feats), np.nan)
        expected[customers] = np.round(uplift.model.predict(scored), 2)
        frame["expected_uplift"] = expected
    else:
        frame["expected_uplift"] = np.nan
    return frame, explanations, notes


def score(
    dataset: Dataset, feats: pd.DataFrame, as_of: pd.Timestamp, champions: dict, config: Config
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Features at as_of -> calibrated probabilities, expected uplift, revenue at risk, contributions."""
    frame, long, _, _, notes = _score(dataset, feats, as_of, champions, config)
    return frame, long, notes


def _score(
    dataset: Dataset, feats: pd.DataFrame, as_of: pd.Timestamp, champions: dict, config: Config
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series, list[str]]:
    """`score`, the top drivers of the long explanations (`top_drivers`), read from the contributions, and
    each account's leading target (`lead_targets`, against each model's base probability)."""
    models, explained, notes = model_scores(feats, champions, config)
    frame = models[[c for c in models.columns if c != "expected_uplift"]].copy()
    history = dataset.has_history
    h = config.time.horizon_days
    if history and dataset.transactions is not None:
        # expected spend over the horizon if the account is kept: its baseline, the same one the labels use
        kept = baseline_at(dataset.transactions, as_of, h).reindex(feats.index).fillna(0.0)
        frame["revenue_at_risk"] = kept.round(2)
    else:
        frame["revenue_at_risk"] = np.nan
    frame["expected_uplift"] = models["expected_uplift"]
    for column in (
        "is_prospect",
        "spend_365d",
        "potential_spend_365d",
        "potential_multiple",
        "peer_spend_percentile",
        "peer_gap_to_p75",
        "days_since_last_purchase",
    ):
        if column in feats.columns:
            frame[column] = feats[column]
    if "is_prospect" in frame.columns:
        prospect = frame["is_prospect"] == 1
        for target in TARGETS:
            frame.loc[prospect, f"{target}_probability"] = np.nan
        frame.loc[prospect, "expected_uplift"] = np.nan
        frame.loc[prospect, "revenue_at_risk"] = 0.0
        frame["prospect_value"] = np.where(
            prospect, frame.get("potential_spend_365d", 0) * h / 365.25 * PROSPECT_CONVERSION, 0.0
        )
        frame["is_prospect"] = prospect
        lapsed = (~prospect) & (
            feats.get("days_since_last_purchase", pd.Series(0, index=feats.index))
            > config.time.active_lookback_days
        )
        # a lapsed account has no purchase in the lookback: its business is already lost, not at risk, and
        # like a prospect it is worth what winning it back could bring
        frame.loc[lapsed, "revenue_at_risk"] = 0.0
        frame.loc[lapsed, "prospect_value"] = (
            frame.loc[lapsed].get("potential_spend_365d", 0) * h / 365.25 * PROSPECT_CONVERSION
        )
        frame["status"] = np.where(prospect, "prospect", np.where(lapsed, "lapsed", "active"))
    else:
        frame["status"] = "active"
    # prospects were never explained (model_scores skips them), so the long table holds customers only
    long = (
        pd.concat([table for _, _, table in explained], ignore_index=True)
        if explained
        else pd.DataFrame(
            columns=["account_id", "target", "feature", "value", "value_text", "contribution", "base"]
        )
    )
    drivers = explained_drivers([(target, points) for target, points, _ in explained], long)
    base = {target: float(table["base"].iat[0]) for target, _, table in explained if len(table)}
    return frame, long, drivers, lead_targets(frame, base), notes


@dataclass
class AccountScores:
    """Scores, rating and reasons of a set of accounts (the portfolio, or one partition of it)."""

    table: pd.DataFrame  # one row per account: account_id, probabilities, money, rating, names, reasons
    explanations: pd.DataFrame  # long: account_id, target, feature, value, value_text, contribution, base
    rating: pd.DataFrame  # long: the rating profile's criteria per account
    drivers: pd.DataFrame  # top model drivers per account and target, with their phrases
    notes: list[str]


def score_accounts(
    dataset: Dataset, feats: pd.DataFrame, as_of: pd.Timestamp, champions: dict, config: Config, profile
) -> AccountScores:
    """Everything `rank` knows of an account before the portfolio-wide ranking; per account only."""

    scored, long, drivers, lead, notes = _score(dataset, feats, as_of, champions, config)
    profile_input = dataset.accounts.set_index("account_id").reindex(feats.index)
    for column in feats.columns:
        if column not in profile_input.columns:
            profile_input[column] = feats[column]
    notes += profile_warnings(profile, profile_input.columns)
    rating = rate_accounts(profile, profile_input)
    scored = scored.join(rating.scores)
    accounts = dataset.accounts.set_index("account_id").reindex(scored.index)
    scored["account_name"] = (
        accounts["account_name"].fillna("").astype(str) if "account_name" in accounts else ""
    )
    for column in ("industry", "region"):
        if column in accounts.columns:
            scored[column] = accounts[column].astype(object).where(accounts[column].notna(), "").astype(str)
    ids = pd.Index(scored.index)
    # an account Save picks (known per account) leads with why it may leave, whatever its lifts say
    lead = lead.reindex(ids.astype(str)).where(~save_applies(scored, config.ranking), "churn")
    _add_reasons(scored, reason_items(drivers, rating.contributions, ids, lead=lead), ids)
    # one led by churn that Grow may pick also gets the reasons led by its expansion drivers: Grow's bar is
    # the portfolio's, so `rank_accounts` shows them once it has chosen the action (`show_grow_reasons`)
    maybe = may_grow(scored, config.ranking) & (lead == "churn").to_numpy()
    grow_ids = ids[maybe]
    expansion_led = pd.Series("expansion", index=grow_ids.astype(str), dtype=object)
    items = reason_items(drivers, rating.contributions, grow_ids, lead=expansion_led)
    _add_reasons(scored, items, grow_ids, prefix=GROW_REASONS)  # every partition has the columns
    scored = scored.reset_index().rename(columns={"index": "account_id"})
    return AccountScores(scored, long, rating.contributions, drivers, notes)


def _add_reasons(scored: pd.DataFrame, items: pd.DataFrame, ids: pd.Index, prefix: str = "") -> None:
    """`reasons` and the REASON_COLUMNS of `items` (the same items, one column each) as columns of `scored`
    named with `prefix`, for the accounts `ids` (missing for the others)."""
    columns = reason_columns(items, ids)
    columns.insert(0, "reasons", reasons_text(items, ids).to_numpy())
    columns.index = ids
    for column in columns.columns:
        scored[f"{prefix}{column}"] = columns[column].reindex(scored.index)


def monthly_history(
    dataset: Dataset, as_of: pd.Timestamp, accounts: pd.Index, months: int = HISTORY_MONTHS
) -> pd.DataFrame:
    start = (as_of - pd.DateOffset(months=months)).to_period("M").to_timestamp()
    ids = set(map(str, accounts))
    parts = []
    if dataset.has_history:
        tx = dataset.transactions
        tx = tx[(tx["date"] < as_of) & (tx["date"] >= start) & tx["account_id"].isin(ids)]
        parts.append(
            tx.assign(
                month=tx["date"].dt.to_period("M").dt.to_timestamp(), orders=(tx["amount"] > 0).astype(int)
            )
            .groupby(["account_id", "month"])
            .agg(spend=("amount", "sum"), orders=("orders", "sum"))
        )
    if dataset.activities is not None:
        act = dataset.activities
        act = act[(act["date"] < as_of) & (act["date"] >= start) & act["account_id"].isin(ids)]
        parts.append(
            act.assign(month=act["date"].dt.to_period("M").dt.to_timestamp())
            .groupby(["account_id", "month"])
            .size()
            .rename("activities")
            .to_frame()
        )
    if not parts:
        return pd.DataFrame(columns=["account_id", "month", "spend", "orders", "activities"])
    history = pd.concat(parts, axis=1).fillna(0).reset_index()
    for column in ("spend", "orders", "activities"):
        if column not in history.columns:
            history[column] = 0
    history["orders"] = history["orders"].astype(int)
    history["activities"] = history["activities"].astype(int)
    return history.sort_values(["account_id", "month"], ignore_index=True)[
        ["account_id", "month", "spend", "orders", "activities"]
    ]
