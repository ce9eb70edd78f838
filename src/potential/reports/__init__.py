"""Managers' HTML reports: one portfolio page and one page per account.

Pages are rendered with jinja2 (autoescape on: every value from the data is escaped), charts are inline
SVG built in `charts` (their text escaped there), and the CSS is inline: a page opens from disk with no
network, prints on A4, and the same input gives byte-identical files.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from potential.data.io import write_text
from potential.reports import charts, memory, pages, quality, segments
from potential.reports import format as fmt

__all__ = ["ReportInput", "account_filename", "write_reports"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
)


@dataclass(frozen=True)
class ReportInput:
    """Everything the pages show; see `write_reports`.

    targets: the ranked list (export contract columns, plus optional action_rule, is_prospect, industry,
    region, spend_365d, peer_gap_to_p75, peer_spend_percentile, potential_multiple, rank_delta, tier_change,
    new_entrant). explanations: long (account_id, target, feature, value, contribution, base), with
    base + sum(contribution) == the probability in targets. rating: long (account_id, criterion, attribute,
    value, score, points, known, sentence). history: long (account_id, month, spend, orders, activities).
    feature_text: feature -> plain description. driver_phrases: long (account_id, target, feature, phrase).
    model_card: as_of, horizon_days, models (target, name, version, metrics, baselines), notes,
    data_digest, config_digest, action_rules. previous: the previous run's targets, for "what changed".

    What the workspace's stored lists add (all optional; `potential.export.history` writes them):
    score_history: stored list rows (as_of, account_id, account_name, model_version, the scores, rank, tier,
    action and the *_previous_model split columns) — every account of the current and the previous list, and
    the paged accounts at the other as-ofs. previous_explanations: the contributions stored with the previous
    list (account_id, target, feature, value, contribution). segments: account_id and the segment columns
    (default: those of targets); segment_columns: the segments to show (None: industry and region where
    present). outcomes: an earlier list scored against what happened over its horizon (as_of, horizon_days,
    account_id, churn_probability, expansion_probability, churn, expansion).
    """

    targets: pd.DataFrame
    explanations: pd.DataFrame
    rating: pd.DataFrame
    history: pd.DataFrame
    feature_text: dict[str, str]
    driver_phrases: pd.DataFrame
    model_card: dict
    currency: str = ""
    previous: pd.DataFrame | None = None
    score_history: pd.DataFrame | None = None
    previous_explanations: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    segment_columns: tuple[str, ...] | None = None
    outcomes: pd.DataFrame | None = None


def account_filename(account_id: str) -> str:
    """The file name of an account's page: `[A-Za-z0-9_.-]` kept, anything else replaced by '_'.

    When the id had to change (or would clash with a reserved device name on Windows), a short hash of
    the original id is appended, so two different ids never share a page: 'ACME/1' -> 'ACME_1-3f2a9c1d.html'.
    """
    account_id = str(account_id)
    safe = _UNSAFE.sub("_", account_id).strip(".")[:80] or "account"
    if safe != account_id or safe.split(".")[0].lower() in _WINDOWS_RESERVED:
        safe = f"{safe}-{hashlib.sha256(account_id.encode('utf-8')).hexdigest()[:8]}"
    return f"{safe}.html"


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    """Compiled once per process; templates ship as package data in reports/templates."""
    env = Environment(
        loader=PackageLoader("potential", "reports/templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def write_reports(
    data: ReportInput,
    out_dir: Path,
    top_k: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write out_dir/index.html and out_dir/accounts/<account_filename(id)> for the top_k rows by rank.

    `progress(done, total)` is told after each account page.

    Returns the written paths, index first. Pages of accounts from an earlier run that are not in this one
    are removed from out_dir/accounts only after every new page is written.
    """
    out_dir = Path(out_dir)
    env = _environment()
    account_tpl = env.get_template("account.html.j2")
    index_tpl = env.get_template("index.html.j2")

    targets = _prepare_targets(data.targets, data.previous)
    top = targets.head(max(int(top_k), 0))
    links = {a: "accounts/" + account_filename(a) for a in top["account_id"]}
    card = data.model_card or {}
    modelled = {
        t: f"{t}_probability" in targets.columns and targets[f"{t}_probability"].notna().any()
        for t in pages.TARGETS
    }

    ids = set(links)
    as_of = _as_of(card, targets)
    months = pages.history_months(as_of) if as_of is not None else None
    explanations = pages.collect_explanations(data.explanations, ids)
    rating = pages.collect_rating(data.rating, ids)
    history = pages.collect_history(data.history, ids, months)
    phrases = _phrases(data.driver_phrases, ids)
    history_available = months is not None and data.history is not None and len(data.history) > 0
    lists = memory.build_lists(
        data.score_history, as_of.date().isoformat() if as_of is not None else None, ids
    )
    contributions_now = memory.contributions_of(explanations) if lists else {}
    contributions_before = (
        memory.contributions_of(pages.collect_explanations(data.previous_explanations, ids)) if lists else {}
    )

    written: list[Path] = []
    for row in top.to_dict("records"):
        account = row["account_id"]
        view = pages.account_view(
            row,
            explanations=explanations,
            rating=rating.get(account, []),
            history=history.get(account, {}),
            phrases=phrases,
            feature_text=data.feature_text or {},
            currency=data.currency,
            card=card,
            n_accounts=len(targets),
            modelled=modelled,
            months=months,
            history_available=history_available,
            move=pages.movement(row),
        )
        view["memory"] = memory.account_memory(
            account, lists, contributions_now, contributions_before, data.feature_text or {}
        )
        written.append(write_text(out_dir / links[account], account_tpl.render(a=view)))
        if progress is not None:
            progress(len(written), len(top))

    index = index_tpl.render(**_index_view(data, targets, top, links, modelled, top_k, lists))
    written.insert(0, write_text(out_dir / "index.html", index))

    accounts_dir = out_dir / "accounts"
    if accounts_dir.is_dir():  # stale pages go only now, after every new page is in place
        keep = {Path(link).name for link in links.values()}
        for stale in sorted(accounts_dir.glob("*.html")):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)
    return written


# ----------------------------------------------------------------------------------------------------- helpers
def _prepare_targets(targets: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    frame = targets.assign(account_id=targets["account_id"].astype(str))
    frame = (
        frame.sort_values(["rank", "account_id"], kind="mergesort")
        .drop_duplicates("account_id")
        .reset_index(drop=True)
    )
    if previous is not None and len(previous) and {"account_id", "rank"} <= set(previous.columns):
        prev = (
            previous.assign(account_id=previous["account_id"].astype(str))
            .drop_duplicates("account_id")
            .set_index("account_id")
        )
        prev_rank = frame["account_id"].map(prev["rank"])
        frame["new_entrant"] = prev_rank.isna().to_numpy()
        frame["rank_delta"] = (pd.to_numeric(prev_rank, errors="coerce") - frame["rank"]).to_numpy()
        if "tier" in prev.columns:
            before = frame["account_id"].map(prev["tier"]).astype(object)
            changed = before.notna() & (before.astype(str) != frame["tier"].astype(str))
            frame["tier_change"] = np.where(
                changed, before.astype(str) + " -> " + frame["tier"].astype(str), ""
            )
    return frame


def _phrases(frame: pd.DataFrame | None, ids: set[str]) -> dict[tuple[str, str, str], str]:
    if frame is None or not len(frame):
        return {}
    out = {}
    for a, t, f, p in zip(
        frame["account_id"].astype(str),
        frame["target"].astype(str),
        frame["feature"].astype(str),
        frame["phrase"],
        strict=True,
    ):
        if a in ids and not fmt.missing(p) and str(p).strip():
            out[(a, t, f)] = str(p)
    return out


def _as_of(card: dict, targets: pd.DataFrame) -> pd.Timestamp | None:
    for value in (
        card.get("as_of"),
        targets["as_of"].iloc[0] if "as_of" in targets.columns and len(targets) else None,
    ):
        if not fmt.missing(value):
            stamp = pd.to_datetime(value, errors="coerce")
            if not pd.isna(stamp):
                return pd.Timestamp(stamp)
    return None


def _index_view(
    data: ReportInput,
    t: pd.DataFrame,
    top: pd.DataFrame,
    links: dict[str, str],
    modelled: dict[str, bool],
    top_k: int,
    lists: memory.Lists | None = None,
) -> dict[str, Any]:
    card = data.model_card or {}
    cur = data.currency
    n = len(t)
    priority = pd.to_numeric(t["priority_score"], errors="coerce").fillna(0.0).clip(lower=0)
    total = float(priority.sum())
    tiers = []
    for name in sorted(t["tier"].astype(str).unique()):
        mask = (t["tier"].astype(str) == name).to_numpy()
        share = float(priority[mask].sum()) / total if total > 0 else 0.0
        tiers.append(
            {
                "name": name,
                "css": pages.css_token(name, ("A", "B", "C", "D")),
                "count": f"{int(mask.sum()):,}",
                "accounts": fmt.percent(mask.sum() / n if n else 0, 0),
                "share": fmt.percent(share, 0),
                "bar": f"{share * 100:.1f}",
            }
        )
    first_tier = tiers[0]["name"] if tiers else ""
    first_mask = (t["tier"].astype(str) == first_tier).to_numpy()
    first_share = float(priority[first_mask].sum()) / total if total > 0 else 0.0
    rules = {
        str(r).split(":", 1)[0].strip(): str(r).split(":", 1)[1].strip().replace(">=", "≥").replace("<=", "≤")
        for r in card.get("action_rules", [])
        if ":" in str(r)
    }
    actions = [
        {
            "name": a,
            "css": a,
            "count": f"{int((t['action'] == a).sum()):,}",
            "share": fmt.percent((t["action"] == a).sum() / n if n else 0, 0),
            "rule": rules.get(a, ""),
        }
        for a in pages.ACTIONS
    ]
    others = sorted(set(t["action"].astype(str)) - set(pages.ACTIONS))
    actions += [
        {
            "name": a,
            "css": "other",
            "count": f"{int((t['action'].astype(str) == a).sum()):,}",
            "share": fmt.percent((t["action"].astype(str) == a).sum() / n if n else 0, 0),
            "rule": rules.get(a, ""),
        }
        for a in others
    ]
    ranked = priority.to_numpy()
    share_acc = np.arange(1, n + 1) / max(n, 1)
    share_pri = np.cumsum(ranked) / total if total > 0 else np.zeros(n)
    marker = first_mask.sum() / n if n else None

    big = float(priority.max()) >= 100 if n else True
    rows = []
    for r in top.to_dict("records"):
        reasons = pages.split_reasons(r.get("reasons"))
        pr = fmt.as_float(r.get("priority_score"))
        rows.append(
            {
                "rank": fmt.integer(r["rank"]),
                "account_id": r["account_id"],
                "href": links[r["account_id"]],
                "name": pages.display_name(r),
                "tier": fmt.text(r.get("tier")),
                "tier_css": pages.css_token(r.get("tier"), ("A", "B", "C", "D")),
                "action": fmt.text(r.get("action")),
                "action_css": pages.css_token(r.get("action"), pages.ACTIONS),
                "high_value": fmt.flag(r.get("high_value")),
                "prospect": fmt.flag(r.get("is_prospect")),
                "priority": fmt.number(pr, 0 if big else 2),
                "p_churn": fmt.percent(r.get("churn_probability")),
                "churn_band": fmt.band(r.get("churn_probability")),
                "at_risk": fmt.money(r.get("revenue_at_risk"), cur),
                "p_expand": fmt.percent(r.get("expansion_probability")),
                "expand_band": fmt.band(r.get("expansion_probability")),
                "uplift": fmt.money(r.get("expected_uplift"), cur),
                "rating": fmt.number(r.get("rating_score"), 0),
                "grade": fmt.text(r.get("rating_grade")),
                "reason": reasons[0] if reasons else None,
                "move": pages.movement(r),
            }
        )

    churn = (
        pd.to_numeric(t.get("churn_probability"), errors="coerce")
        if "churn_probability" in t
        else pd.Series(dtype=float)
    )
    expand = (
        pd.to_numeric(t.get("expansion_probability"), errors="coerce")
        if "expansion_probability" in t
        else pd.Series(dtype=float)
    )
    rating = (
        pd.to_numeric(t["rating_score"], errors="coerce") if "rating_score" in t else pd.Series(dtype=float)
    )
    band_shading = pages.BAND_EDGES
    distributions = [
        {
            "title": "Churn risk",
            "modelled": modelled["churn"],
            "n": f"{int(churn.notna().sum()):,}",
            "svg": charts.histogram(
                churn.dropna().tolist(),
                color=charts.RED,
                bands=band_shading,
                label="Distribution of churn probability",
            )
            if modelled["churn"]
            else None,
            "bands": pages.band_counts(churn) if modelled["churn"] else [],
            "band_css": "band-",
        },
        {
            "title": "Expansion likelihood",
            "modelled": modelled["expansion"],
            "n": f"{int(expand.notna().sum()):,}",
            "svg": charts.histogram(
                expand.dropna().tolist(), color=charts.GREEN, label="Distribution of expansion probability"
            )
            if modelled["expansion"]
            else None,
            "bands": pages.band_counts(expand) if modelled["expansion"] else [],
            "band_css": "exp-",
        },
        {
            "title": "Rating score",
            "modelled": bool(rating.notna().any()),
            "n": f"{int(rating.notna().sum()):,}",
            "svg": charts.histogram(
                rating.dropna().tolist(),
                lo=0,
                hi=100,
                as_percent=False,
                color=charts.BLUE,
                label="Distribution of rating score",
            )
            if rating.notna().any()
            else None,
            "bands": [],
            "band_css": "",
        },
    ]
    models = pages.model_rows(card)
    versions = (
        " · ".join(f"{m['target']} v{m['version']}" for m in models if m["version"]) or "rating profile only"
    )
    changes = None
    if (
        data.previous is not None
        and len(data.previous)
        and {"account_id", "rank"} <= set(data.previous.columns)
    ):
        changes = pages.changes_view(t, data.previous, int(top_k), links)
    return {
        "as_of": fmt.text(
            card.get("as_of"), fmt.text(t["as_of"].iloc[0]) if "as_of" in t and n else fmt.DASH
        ),
        "horizon": pages.horizon_phrases(card.get("horizon_days")),
        "n_accounts": f"{n:,}",
        "n_top": f"{len(top):,}",
        "versions": versions,
        "tiers": tiers,
        "first_tier": first_tier,
        "first_tier_share": fmt.percent(first_share, 0),
        "first_tier_accounts": fmt.percent(marker or 0, 0),
        "actions": actions,
        "high_value": f"{int(t['high_value'].map(fmt.flag).sum()) if 'high_value' in t else 0:,}",
        "prospects": f"{int(t['is_prospect'].map(fmt.flag).sum()):,}" if "is_prospect" in t else None,
        "concentration": charts.concentration(
            share_acc.tolist(),
            share_pri.tolist(),
            marker=marker,
            marker_label=f"Tier {first_tier}" if first_tier else "Top tier",
        ),
        "distributions": distributions,
        "rows": rows,
        "expansion_modelled": modelled["expansion"],
        "churn_modelled": modelled["churn"],
        "models": models,
        "notes": [str(x) for x in card.get("notes", []) if not fmt.missing(x)],
        "action_rules": [str(x).replace(">=", "≥").replace("<=", "≤") for x in card.get("action_rules", [])],
        "changes": changes,
        "memory": memory.portfolio_changes(lists, links),
        "segments": segments.segment_views(
            t,
            data.segments,
            data.segment_columns,
            [tier["name"] for tier in tiers],
            [a["name"] for a in actions],
            data.outcomes,
            cur,
        ),
        "list_quality": quality.list_quality_view(card, cur),
        "drift": quality.drift_view(card),
        "data_digest": fmt.text(card.get("data_digest")),
        "config_digest": fmt.text(card.get("config_digest")),
    }
