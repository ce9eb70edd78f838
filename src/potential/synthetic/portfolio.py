"""Synthetic B2B portfolio with known ground truth — the embedded demo data and the benchmarks' basis.

The generative story (`docs/demo-world.md` tells it for users) is drawn in three steps, all vectorised over
an accounts x months grid and seeded:
- `world`: accounts, latent traits (fit, health, relationship, wallet, share of wallet, fiscal year) and the
  profile columns that observe them with noise;
- `story`: churn (static hazard, wind-down before it), expansions (budget-seasonal hazard from headroom and
  fit, sustained demand step, signals 1-6 months before most of them), false starts (the same run-up, no
  step) and spend variation that is not expansion;
- `tables`: the transactions and activities a CRM / ERP export would hold.
`truth` (one row per account) and `events` (every real expansion and churn) hold the answers; the pipeline
never reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from potential.data.io import atomic_path
from potential.errors import InputError
from potential.synthetic.story import PRE_CHURN_MONTHS, SIGNALS, Story, tell_story
from potential.synthetic.tables import activities, transactions
from potential.synthetic.world import DEFAULT_END, World, build_world

__all__ = ["DEFAULT_END", "Portfolio", "generate_portfolio", "write_portfolio"]
TABLES = ("accounts", "transactions", "activities", "truth", "events")
FILE_NAMES = {"events": "truth_events"}


@dataclass(frozen=True)
class Portfolio:
    """The demo world's tables plus its answers.

    `truth`: one row per account — latent propensities, the first expansion and the churn date.
    `events`: one row per real event (account_id, date, kind expansion|churn, magnitude, lead_months,
    signals); `date` is the first day of the month the step happens in.
    """

    accounts: pd.DataFrame
    transactions: pd.DataFrame
    activities: pd.DataFrame
    truth: pd.DataFrame
    events: pd.DataFrame


def _events(w: World, s: Story) -> pd.DataFrame:
    ep = s.episodes
    real = ep.real
    names = np.array(SIGNALS, dtype=object)
    signal_text = np.array(
        ["+".join(names[row]) for row in ep.signals[real]] if real.any() else [], dtype=object
    )
    churned = np.nonzero(s.churn_at < w.m)[0]
    young = np.minimum(PRE_CHURN_MONTHS, s.churn_at[churned] - w.created_month[churned])
    frame = pd.DataFrame(
        {
            "account_id": np.concatenate([w.ids[ep.account[real]], w.ids[churned]]),
            "date": np.concatenate([w.month_start[ep.month[real]], w.month_start[s.churn_at[churned]]]),
            "kind": np.concatenate(
                [
                    np.full(int(real.sum()), "expansion", dtype=object),
                    np.full(len(churned), "churn", dtype=object),
                ]
            ),
            "magnitude": np.round(np.concatenate([ep.magnitude[real], np.zeros(len(churned))]), 4),
            "lead_months": np.concatenate(
                [ep.lead[real], np.where(w.created[churned] < w.month_start[0], PRE_CHURN_MONTHS, young)]
            ).astype(int),
            "signals": np.concatenate([signal_text, np.full(len(churned), "wind_down", dtype=object)]),
        }
    )
    return frame.sort_values(["date", "account_id", "kind"], kind="mergesort", ignore_index=True)


def _truth(w: World, s: Story) -> pd.DataFrame:
    ep = s.episodes
    m = w.m
    first = np.full(w.n, m + 1)
    np.minimum.at(first, ep.account[ep.real], ep.month[ep.real])

    def month_ts(idx: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(
            np.where(idx < m, w.month_start[np.minimum(idx, m - 1)], np.datetime64("NaT"))
        )

    return pd.DataFrame(
        {
            "account_id": w.ids,
            "churn_hazard_monthly": np.round(s.churn_hazard, 6),
            "expansion_hazard_monthly": np.round(s.expansion_hazard, 6),
            "churn_propensity": np.round(1 - (1 - s.churn_hazard) ** 3, 6),
            "expansion_propensity": np.round(1 - (1 - s.expansion_hazard) ** 3, 6),
            "wallet": np.round(w.wallet, 2),
            "share_of_wallet": np.round(w.share, 4),
            "fit": np.round(w.fit, 4),
            "fiscal_year_start": w.fiscal_start + 1,
            "churn_date": month_ts(s.churn_at),
            "expansion_date": month_ts(first),
            "expansions": np.bincount(ep.account[ep.real], minlength=w.n),
            "false_starts": np.bincount(ep.account[~ep.real], minlength=w.n),
            "is_prospect": w.prospect,
        }
    )


def generate_portfolio(
    n_accounts: int = 2000, months: int = 36, seed: int = 42, end: pd.Timestamp = DEFAULT_END
) -> Portfolio:
    """A seeded synthetic portfolio of `months` months ending before `end`: same arguments, same frames."""
    if n_accounts < 1:
        raise InputError(f"--accounts {n_accounts}: need at least 1 account; pass e.g. --accounts 2000.")
    if not 1 <= months <= 240:
        raise InputError(f"--months {months}: must be between 1 and 240; pass e.g. --months 36.")
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(end).to_period("M").to_timestamp()
    world = build_world(rng, n_accounts, months, end)
    story = tell_story(rng, world)
    return Portfolio(
        accounts=world.accounts,
        transactions=transactions(rng, world, story),
        activities=activities(rng, world, story),
        truth=_truth(world, story),
        events=_events(world, story),
    )


def write_portfolio(portfolio: Portfolio, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write accounts, transactions, activities, truth and truth_events as CSV (ISO dates) or Parquet, atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if fmt not in ("csv", "parquet"):
        raise InputError(f"--format '{fmt}' is not supported; use csv or parquet.")
    out_dir = Path(out_dir)
    paths = []
    for name in TABLES:
        frame = getattr(portfolio, name).copy()
        path = out_dir / f"{FILE_NAMES.get(name, name)}.{fmt}"
        with atomic_path(path) as tmp:
            if fmt == "parquet":
                frame.to_parquet(tmp, index=False)
            else:
                for column in frame.columns:
                    if pd.api.types.is_datetime64_any_dtype(frame[column]):
                        day_only = (frame[column].dropna().dt.normalize() == frame[column].dropna()).all()
                        fmt_str = "%Y-%m-%d" if day_only else "%Y-%m-%dT%H:%M:%S"
                        frame[column] = (
                            frame[column]
                            .dt.strftime(fmt_str)
                            .astype(object)
                            .where(frame[column].notna(), None)
                        )
                pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        paths.append(path)
    return paths
