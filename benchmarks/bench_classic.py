"""Churn and expansion ROC-AUC vs the field's classic models on public-shaped stand-ins, with and without tuning.

Three stand-ins for the public data the team measures on (that data is not in the repository):

1. retail: a buy-till-you-die transaction log (`retail_log`) with what real logs have and BG/NBD does not
   model: seasonal buying, customers more regular than Poisson, a fade before they leave, growing and
   shrinking customers, same-day repeat orders, partial refunds and duplicated rows.
2. wholesale: one year of a line-item invoice export (`wholesale_lines`): invoice number on every line,
   stock code, quantity, unit price, timestamp, country; cancellations are invoices of their own, numbered
   'C...', with negative quantities. Read as it is through the column map and `data.cancellation_prefix`.
3. telecom: a profile-only churn table with labels (`telco_table` from bench_accuracy: 7,043 customers,
   the public table's size and columns).

For 1 and 2 the product is trained on the files dated before as_of = end - horizon (90 days; 60 for the
one-year wholesale export, which a 90-day horizon leaves too short for time validation) through the API,
files in; the champions the registry then holds score every account at as_of, and are compared on the
accounts active before as_of (the training label rule, `labels_at` on the full files) with the classic
models fitted on the same history in the same run: BG/NBD's P(no purchase in the horizon) for churn; for
expansion BG/NBD + Gamma-Gamma's predicted growth over the previous horizon's spend (`btyd_scores`) and a
recent-momentum rule (spend in the last horizon over the trailing year's run rate for that long). For 3 the product and the logistic regression are scored on the same
held-out stratified 20% split. Each product row is run twice: `tuning off` (the configured parameters) and
`tuning on` (`training.tuning`, its default trial budget). `margin` is the product's ROC-AUC minus the best
classic model's on the same rows; `goal` is the margin the issue asks for.

    python benchmarks/bench_classic.py [--customers 8000] [--wholesale 3000] [--profiles 7043] [--seed 11]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_accuracy import PROFILE_AS_OF, PROFILE_COLUMNS, telco_table

from potential import api
from potential.config import Config
from potential.features.btyd import btyd_scores
from potential.features.build import prepare
from potential.labels.training_set import labels_at
from potential.tracking.store import Tracker

RETAIL_START, RETAIL_END = pd.Timestamp("2022-01-03"), pd.Timestamp("2024-07-01")
WHOLESALE_START, WHOLESALE_END = pd.Timestamp("2010-12-01"), pd.Timestamp("2011-12-01")
# one year of lines leaves 305 days before as_of = end - 60 days: enough for a train, a calibration and a
# test cutoff with their own 60-day windows after 90 days of history (a 90-day horizon would need 360)
WHOLESALE_HORIZON_DAYS = 60
WHOLESALE_COLUMNS = {
    "transactions": {
        "account_id": "CustomerID",
        "date": "InvoiceDate",
        "order_id": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "product": "StockCode",
    }
}
# The margin over the best classic model the issue asks for, per (dataset, target)
GOALS = {
    ("retail", "churn"): 0.01,
    ("retail", "expansion"): 0.0,
    ("wholesale", "churn"): 0.01,
    ("wholesale", "expansion"): 0.0,
    ("telecom", "churn"): 0.005,
}


# --------------------------------------------------------------------------------------------- stand-ins
def _seasonal_clock(start: pd.Timestamp, end: pd.Timestamp, amplitude: float, peak_doy: int):
    """Calendar day <-> 'busy time' for a yearly season: busy time runs faster near `peak_doy`.

    Returns (to_busy, to_calendar), both vectorised over days since `start`. A renewal process drawn in
    busy time and mapped back buys more often in season, as shops see in the run-up to Christmas.
    """
    days = np.arange(0, (end - start).days + 2, dtype=float)
    doy = (start + pd.to_timedelta(days, unit="D")).day_of_year.to_numpy()
    speed = 1.0 + amplitude * np.cos(2 * np.pi * (doy - peak_doy) / 365.25)
    busy = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    return (lambda t: np.interp(t, days, busy)), (lambda b: np.interp(b, busy, days))


def _renewal_times(
    rng: np.random.Generator,
    birth: np.ndarray,
    gap: np.ndarray,
    shape: np.ndarray,
    death: np.ndarray,
    fade_days: np.ndarray,
    trend: np.ndarray,
    horizon: float,
    to_busy,
    to_calendar,
) -> tuple[np.ndarray, np.ndarray]:
    """Purchase days of every customer: gamma-renewal gaps (mean `gap`, shape `shape`: 1 = Poisson, higher =
    more regular) in busy time from `birth` until `death`; the gaps stretch x2 over the `fade_days` before
    death and shrink or grow with `trend` (per year). Returns (customer index, day since start)."""
    owners, times = [], []
    n = birth.size
    alive = np.arange(n)
    now = to_busy(birth)
    first = True
    while alive.size:
        owners.append(alive)
        times.append(to_calendar(now[alive]) if not first else birth[alive])
        first = False
        calendar = to_calendar(now[alive])
        years = (calendar - birth[alive]) / 365.25
        mean_gap = gap[alive] * np.exp(-trend[alive] * years)
        fading = calendar > death[alive] - fade_days[alive]
        mean_gap = np.where(fading, mean_gap * 2.0, mean_gap)
        step = rng.gamma(shape[alive], mean_gap / shape[alive])
        now[alive] = now[alive] + step
        nxt = to_calendar(now[alive])
        keep = (nxt < death[alive]) & (nxt < horizon)
        alive = alive[keep]
    return np.concatenate(owners), np.concatenate(times)


def retail_log(n_customers: int, start: pd.Timestamp, end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """A retail transaction log (account_id, date, amount) shaped like the public ones (CDNOW, online retail).

    Latent process per customer: first purchase in the first 60% of the window (more of them in autumn);
    gamma-renewal purchases with a median gap of 40 days (lognormal spread) and a regularity shape of 1, 2
    or 4 (Poisson to fairly regular), sped up by a +-35% season peaking late November; a lifetime after the
    first purchase that is exponential (median 14 months) for most and infinite for a loyal 25%, with the
    gaps doubling over the 30-120 days before leaving; a yearly trend in purchase rate (sd 0.4). Order value
    is lognormal around the customer's own mean (median 45, drifting with the trend). Noise: 15% of
    purchase days carry a second order, 3% of orders are partly refunded 5-40 days later, 0.5% of rows are
    exported twice.
    """
    rng = np.random.default_rng(seed)
    span = float((end - start).days)
    to_busy, to_calendar = _seasonal_clock(start, end, 0.35, 330)
    birth = np.floor(to_calendar(rng.uniform(0.0, to_busy(0.6 * span), n_customers)))
    gap = np.exp(rng.normal(np.log(40.0), 0.8, n_customers))
    shape = rng.choice(np.array([1.0, 2.0, 4.0]), n_customers, p=[0.35, 0.4, 0.25])
    lifetime = np.where(
        rng.random(n_customers) < 0.25, np.inf, rng.exponential(14 * 30.4 / np.log(2), n_customers)
    )
    death = birth + lifetime
    fade = rng.uniform(30.0, 120.0, n_customers)
    trend = rng.normal(0.0, 0.4, n_customers)
    who, day = _renewal_times(rng, birth, gap, shape, death, fade, trend, span, to_busy, to_calendar)
    day = np.floor(day)
    extra = rng.random(who.size) < 0.15
    who, day = np.concatenate([who, who[extra]]), np.concatenate([day, day[extra]])
    mean_value = np.exp(rng.normal(np.log(45.0), 0.7, n_customers))
    years = (day - birth[who]) / 365.25
    amount = np.round(mean_value[who] * np.exp(0.5 * trend[who] * years + rng.normal(0.0, 0.5, who.size)), 2)
    refund = rng.random(who.size) < 0.03
    r_who, r_day = who[refund], day[refund] + rng.integers(5, 41, refund.sum())
    r_amount = -np.round(amount[refund] * rng.uniform(0.2, 1.0, refund.sum()), 2)
    keep = r_day < span
    who = np.concatenate([who, r_who[keep]])
    day = np.concatenate([day, r_day[keep]])
    amount = np.concatenate([amount, r_amount[keep]])
    twice = rng.random(who.size) < 0.005
    who, day, amount = (np.concatenate([x, x[twice]]) for x in (who, day, amount))
    order = np.lexsort((amount, day, who))
    ids = np.array([f"R{i:06d}" for i in range(n_customers)], dtype=object)
    return pd.DataFrame(
        {
            "account_id": ids[who[order]],
            "date": start + pd.to_timedelta(day[order], unit="D"),
            "amount": amount[order],
        }
    )


def wholesale_lines(n_customers: int, start: pd.Timestamp, end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """One year of a wholesaler's invoice lines, columns as the public online-retail export names them:
    InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country.

    Customers (shops) reorder on a gamma-renewal rhythm (median gap 30 days, shape 1-4) with a +-40% season
    peaking mid-November; 30% stop during the year (gaps doubling over the 30-90 days before); a yearly trend
    in order rate and basket size (sd 0.5). An invoice has 1 + Poisson(customer's basket - 1) lines of a
    2,000-article catalogue (Zipf popularity, lognormal prices 0.4-15), pack quantities (1-48) and a
    timestamp in shop hours. 2.5% of invoices are cancelled 0-20 days later by a 'C' invoice repeating some
    of their lines with negative quantities; 0.3% of lines are exported twice.
    """
    rng = np.random.default_rng(seed)
    span = float((end - start).days)
    to_busy, to_calendar = _seasonal_clock(start, end, 0.4, 320)
    birth = np.floor(to_calendar(rng.uniform(0.0, to_busy(0.55 * span), n_customers)))
    gap = np.exp(rng.normal(np.log(30.0), 0.7, n_customers))
    shape = rng.choice(np.array([1.0, 2.0, 4.0]), n_customers, p=[0.3, 0.4, 0.3])
    leaves = rng.random(n_customers) < 0.30
    death = np.where(leaves, rng.uniform(birth + 30, span + 120), np.inf)
    fade = rng.uniform(30.0, 90.0, n_customers)
    trend = rng.normal(0.0, 0.5, n_customers)
    who, day = _renewal_times(rng, birth, gap, shape, death, fade, trend, span, to_busy, to_calendar)
    n_inv = who.size
    basket = np.exp(rng.normal(np.log(12.0), 0.6, n_customers))
    years = (day - birth[who]) / 365.25
    lines = 1 + rng.poisson(np.maximum(basket[who] * np.exp(0.5 * trend[who] * years) - 1, 0.1))
    inv_of_line = np.repeat(np.arange(n_inv), lines)
    catalogue = 2000
    popularity = 1.0 / np.arange(1, catalogue + 1) ** 0.9
    article = rng.choice(catalogue, inv_of_line.size, p=popularity / popularity.sum())
    price = np.round(np.clip(np.exp(rng.normal(np.log(2.5), 0.8, catalogue)), 0.4, 15.0), 2)
    packs = np.array([1, 2, 3, 4, 6, 8, 10, 12, 24, 48])
    quantity = rng.choice(packs, inv_of_line.size, p=[0.1, 0.12, 0.1, 0.1, 0.15, 0.05, 0.08, 0.2, 0.07, 0.03])
    seconds = (8 * 3600 + rng.integers(0, 10 * 3600, n_inv)) // 60 * 60
    stamp = start + pd.to_timedelta(np.floor(day), unit="D") + pd.to_timedelta(seconds, unit="s")
    number = 536365 + np.arange(n_inv)
    order = np.argsort(stamp.to_numpy(), kind="mergesort")
    number[order] = 536365 + np.arange(n_inv)  # invoice numbers rise with time
    cancelled = rng.random(n_inv) < 0.025
    cancel_line = cancelled[inv_of_line] & (rng.random(inv_of_line.size) < 0.6)
    cancel_stamp = stamp + pd.to_timedelta(rng.integers(0, 21, n_inv), unit="D") + pd.Timedelta(hours=1)
    ids = np.arange(12346, 12346 + n_customers)
    country = rng.choice(
        np.array(["United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands"], dtype=object),
        n_customers,
        p=[0.8, 0.06, 0.06, 0.03, 0.03, 0.02],
    )
    codes = np.array(
        [f"{85000 + k}{'AB'[k % 2] if k % 7 == 0 else ''}" for k in range(catalogue)], dtype=object
    )
    names = np.array([f"ARTICLE {k:04d}" for k in range(catalogue)], dtype=object)
    inv = inv_of_line
    sales = pd.DataFrame(
        {
            "InvoiceNo": number[inv].astype(str),
            "StockCode": codes[article],
            "Description": names[article],
            "Quantity": quantity,
            "InvoiceDate": stamp[inv],
            "UnitPrice": price[article],
            "CustomerID": ids[who[inv]],
            "Country": country[who[inv]],
        }
    )
    c = inv[cancel_line]
    cancels = pd.DataFrame(
        {
            "InvoiceNo": np.char.add("C", (900000 + c).astype(str)),
            "StockCode": codes[article[cancel_line]],
            "Description": names[article[cancel_line]],
            "Quantity": -quantity[cancel_line],
            "InvoiceDate": cancel_stamp[c],
            "UnitPrice": price[article[cancel_line]],
            "CustomerID": ids[who[c]],
            "Country": country[who[c]],
        }
    )
    frame = pd.concat([sales, cancels], ignore_index=True)
    frame = frame[frame["InvoiceDate"] < end]
    twice = rng.random(len(frame)) < 0.003
    frame = pd.concat([frame, frame[twice]], ignore_index=True)
    return frame.sort_values(["InvoiceDate", "InvoiceNo"], kind="mergesort", ignore_index=True)


# --------------------------------------------------------------------------------------------- classic models
def momentum_scores(transactions: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.Series:
    """Recent-momentum rule for expansion: net spend in the last `horizon_days` before `as_of` over the
    trailing year's run rate for a window that long (no learning; +1 keeps new and lapsed accounts finite)."""
    past = transactions[transactions["date"] < as_of]
    recent = past[past["date"] >= as_of - pd.Timedelta(days=horizon_days)]
    year = past[past["date"] >= as_of - pd.Timedelta(days=365)]
    recent_spend = recent.groupby("account_id")["amount"].sum()
    run_rate = year.groupby("account_id")["amount"].sum() * horizon_days / 365.0
    accounts = past["account_id"].unique()
    return (recent_spend.reindex(accounts, fill_value=0.0) + 1.0) / (
        run_rate.reindex(accounts, fill_value=0.0).clip(lower=0.0) + 1.0
    )


# --------------------------------------------------------------------------------------------- runs
def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def _write(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def product_scores(
    folder: Path, as_of: pd.Timestamp, workspace: Path, config: Config
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Train on the files in `folder` (`api.train`), then score every account at `as_of` with the champions
    the registry holds, as `rank` would; (probabilities per account, what tuning did per target)."""
    summary = api.train(folder, as_of, workspace, config)
    features = api.build_features(folder, as_of, config).set_index("account_id")
    champions = Tracker(workspace, config).champions()
    scores = pd.DataFrame(
        {target: champion.model.predict(features) for target, champion in champions.items()},
        index=features.index,
    )
    tuning = {target: result.tuning for target, result in summary.results.items()}
    return scores, tuning


def _tuning_note(tuning) -> str:
    if tuning is None:
        return "off"
    note = f"{len(tuning.trials)} trials, {tuning.seconds:.0f}s"
    return note + " (time cap hit)" if tuning.timed_out else note


def history_rows(
    dataset: str,
    tables: dict[str, pd.DataFrame],
    end: pd.Timestamp,
    base: Config,
    date_column: str = "date",
) -> list[dict[str, object]]:
    """The product (tuning off, then on) vs BG/NBD (+ Gamma-Gamma) and the momentum rule on one event log."""
    horizon = base.time.horizon_days
    as_of = (end - pd.Timedelta(days=horizon)).normalize()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        full = _write(root / "full", tables)
        past = {
            name: frame[pd.to_datetime(frame[date_column]) < as_of] if date_column in frame else frame
            for name, frame in tables.items()
        }
        folder = _write(root / "past", past)
        events = api.load_dataset(full, base)
        labels = labels_at(prepare(events, end, base.features), as_of, base)
        history = events.transactions[events.transactions["date"] < as_of]
        started = time.perf_counter()
        btyd = btyd_scores(history, as_of, horizon)
        classic = {
            "churn": {"BG/NBD": btyd["churn_score"]},
            "expansion": {
                "BG/NBD + Gamma-Gamma": btyd["expansion_score"],
                "momentum rule": momentum_scores(history, as_of, horizon),
            },
        }
        classic_seconds = time.perf_counter() - started
        product = {}
        for tuned in (False, True):
            config = base.with_overrides({"training.tuning.enabled": tuned})
            started = time.perf_counter()
            scores, tuning = product_scores(folder, as_of, root / f"ws-{tuned}", config)
            product[tuned] = (scores, tuning, time.perf_counter() - started)
    for target, baselines in classic.items():
        frame = pd.DataFrame({"y": labels[target]}).dropna()
        for name, score in baselines.items():
            frame[name] = score.reindex(frame.index)
        modelled = [tuned for tuned, (scores, _, _) in product.items() if target in scores.columns]
        for tuned in modelled:  # a target with too few positive rows is refused (train says why)
            frame[f"potential {tuned}"] = product[tuned][0][target].reindex(frame.index)
        excluded = int(frame.isna().any(axis=1).sum())  # accounts a classic model cannot score
        frame = frame.dropna()
        y = frame["y"].to_numpy()
        best = max(_auc(y, frame[name].to_numpy()) for name in baselines)
        for name in baselines:
            auc = _auc(y, frame[name].to_numpy())
            rows.append(_row(dataset, target, name, auc, y, excluded, "", round(classic_seconds, 1)))
        for tuned, (_, tuning, seconds) in product.items():
            if tuned not in modelled:
                note = "not modelled (too few positive rows)"
                rows.append(_row(dataset, target, "potential", float("nan"), y, excluded, note, ""))
                continue
            auc = _auc(y, frame[f"potential {tuned}"].to_numpy())
            note = _tuning_note(tuning.get(target)) if tuned else "off"
            rows.append(
                _row(dataset, target, "potential", auc, y, excluded, note, round(seconds, 1), auc - best)
            )
    return rows


def _row(
    dataset: str,
    target: str,
    model: str,
    auc: float,
    y: np.ndarray,
    excluded: int,
    tuning: str,
    seconds: float,
    margin: float | None = None,
) -> dict[str, object]:
    return {
        "dataset": dataset,
        "target": target,
        "model": model,
        "tuning": tuning,
        "roc_auc": round(auc, 4),
        "margin": "" if margin is None else f"{margin:+.4f}",
        "goal": "" if margin is None else f"+{GOALS[(dataset, target)]:.3f}",
        "n": len(y),
        "positives": int(np.sum(y)),
        "excluded": excluded,
        "seconds": seconds,
    }


def profile_rows(n: int, seed: int, base: Config) -> list[dict[str, object]]:
    """The product (tuning off, then on) vs the logistic regression on the same held-out split of a
    telecom-style churn table (accounts + labels, no events)."""
    accounts, labels, _ = telco_table(n, seed)
    base = base.with_overrides({"data.columns": PROFILE_COLUMNS})
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = _write(Path(tmp) / "telco", {"accounts": accounts, "labels": labels})
        for tuned in (False, True):
            config = base.with_overrides({"training.tuning.enabled": tuned})
            started = time.perf_counter()
            summary = api.train(folder, PROFILE_AS_OF, Path(tmp) / f"ws-{tuned}", config)
            seconds = time.perf_counter() - started
            result = summary.results["churn"]
            y = summary_labels = labels.set_index("customerID")["Churn"].reindex(
                result.test_index.get_level_values("account_id")
            )
            y = (summary_labels == "Yes").to_numpy()
            logistic = result.baselines["logistic"]["roc_auc"]
            if not tuned:
                rows.append(_row("telecom", "churn", "logistic regression", logistic, y, 0, "", ""))
            auc = result.metrics["roc_auc"]
            note = _tuning_note(result.tuning) if tuned else "off"
            rows.append(
                _row("telecom", "churn", "potential", auc, y, 0, note, round(seconds, 1), auc - logistic)
            )
    return rows


DATASETS = ("retail", "wholesale", "telecom")
NOTES = (
    "`goal` is the margin the issue asks for on the team's public data (not in the repository); these "
    "stand-ins are not that data, so the rows say what the product does on data of that shape, not whether "
    "the goal is met there. `seconds` is train + score on the 2 cores (slower when other jobs share them); "
    "a search that stops at `training.tuning.timeout_seconds` says so in its `tuning` cell. The published "
    "models are refitted on every labelled cutoff (`training.refit`): on the one-year wholesale export that "
    "moved churn from 0.748 (-0.048 under BG/NBD) to 0.831. The classifiers blend LightGBM with a logistic "
    "regression (`training.linear_weight` 0.5, `training.linear_penalty` 0.02); with the booster alone (tuning off) the margins were: retail "
    "churn +0.0036, expansion +0.0844; wholesale churn +0.0357, expansion +0.0484; telecom churn -0.0008."
)


def main(
    customers: int = 8000,
    wholesale: int = 3000,
    profiles: int = 7043,
    seed: int = 11,
    datasets: tuple[str, ...] = DATASETS,
) -> list[dict[str, object]]:
    config = Config()
    rows: list[dict[str, object]] = []
    sections: list[tuple[str, float]] = []

    if "retail" in datasets:
        started = time.perf_counter()
        log = retail_log(customers, RETAIL_START, RETAIL_END, seed)
        rows += history_rows("retail", {"transactions": log}, RETAIL_END, config)
        sections.append(("retail", time.perf_counter() - started))
        print(pd.DataFrame(rows).to_string(index=False), flush=True)

    if "wholesale" in datasets:
        started = time.perf_counter()
        lines = wholesale_lines(wholesale, WHOLESALE_START, WHOLESALE_END, seed)
        wholesale_config = config.with_overrides(
            {
                "data.columns": WHOLESALE_COLUMNS,
                "data.cancellation_prefix": "C",
                "time.horizon_days": WHOLESALE_HORIZON_DAYS,
            }
        )
        rows += history_rows(
            "wholesale", {"transactions": lines}, WHOLESALE_END, wholesale_config, date_column="InvoiceDate"
        )
        sections.append(("wholesale", time.perf_counter() - started))
        print(pd.DataFrame(rows).to_string(index=False), flush=True)

    if "telecom" in datasets:
        started = time.perf_counter()
        rows += profile_rows(profiles, seed, config)
        sections.append(("telecom", time.perf_counter() - started))
        print(pd.DataFrame(rows).to_string(index=False), flush=True)

    print("section wall time: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in sections))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=8000, help="customers in the retail log")
    parser.add_argument("--wholesale", type=int, default=3000, help="customers in the wholesale export")
    parser.add_argument("--profiles", type=int, default=7043, help="rows of the telecom churn table")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    args = parser.parse_args()
    main(args.customers, args.wholesale, args.profiles, args.seed, tuple(args.datasets))
