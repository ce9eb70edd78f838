"""Synthetic B2B portfolio with known ground truth — the embedded demo data and the benchmarks' basis.

The latent process (all vectorised over an accounts x months grid, seeded):
- Each account has a latent *fit* (culture, product suitability, collaboration, value orientation), *health*
  (payment, business, growth) and *relationship* (executive sponsor, contacts, openness); the profile columns
  are noisy observations of them.
- Wallet (yearly potential spend) follows company size; the account buys a share of it. Spend is heavy tailed
  (top 20% of accounts ~ 80% of spend), seasonal, monthly-ish, with refunds.
- Churn: a static monthly hazard from low health, price buyers, adversarial relationships, acquisition by a
  competitor, low fit, single-threaded contact. In the months before churning, engagement declines and
  support tickets rise, and spend tapers.
- Expansion: a static monthly hazard that grows with headroom (large wallet, small share) and good fit /
  executive sponsor / openness; meetings and executive meetings pick up shortly before, then spend steps up.
`truth` holds the latent propensities; the pipeline never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from potential.data.io import atomic_path
from potential.errors import InputError

DEFAULT_END = pd.Timestamp("2026-11-01")
INDUSTRIES = (
    "manufacturing",
    "retail",
    "healthcare",
    "finance",
    "software",
    "logistics",
    "energy",
    "public_sector",
)
INDUSTRY_P = (0.18, 0.14, 0.12, 0.12, 0.14, 0.12, 0.08, 0.10)
REVENUE_PER_HEAD = (250e3, 180e3, 150e3, 400e3, 220e3, 170e3, 500e3, 120e3)
SPEND_SHARE = (0.004, 0.003, 0.004, 0.005, 0.006, 0.003, 0.003, 0.002)
REGIONS = ("north", "south", "east", "west", "central")
PRODUCTS = 12
SEASON = np.array([0.95, 0.97, 1.03, 1.0, 1.0, 0.96, 0.92, 0.92, 1.0, 1.04, 1.06, 1.15])  # Jan..Dec
PRE_CHURN_MONTHS = 5
PRE_EXPANSION_MONTHS = 2
NAME_A = (
    "North",
    "Blue",
    "Silver",
    "Granite",
    "Harbor",
    "Summit",
    "Cedar",
    "Iron",
    "Bright",
    "Atlas",
    "Nova",
    "Pioneer",
    "Crescent",
    "Union",
    "Vertex",
    "Golden",
    "Alpine",
    "Coastal",
    "Prairie",
    "Meridian",
    "Oak",
    "Falcon",
    "Lumen",
    "Orbit",
)
NAME_B = (
    "wind",
    "stone",
    "field",
    "bridge",
    "point",
    "gate",
    "line",
    "works",
    "river",
    "ridge",
    "peak",
    "light",
)
NAME_C = {
    "manufacturing": "Industries",
    "retail": "Retail",
    "healthcare": "Health",
    "finance": "Capital",
    "software": "Systems",
    "logistics": "Logistics",
    "energy": "Energy",
    "public_sector": "Services",
}
SUFFIX = ("Ltd", "Inc", "GmbH", "plc", "S.A.", "LLC", "AG", "B.V.", "Co.", "Group")


@dataclass(frozen=True)
class Portfolio:
    accounts: pd.DataFrame
    transactions: pd.DataFrame
    activities: pd.DataFrame
    truth: pd.DataFrame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _levels(values: np.ndarray, cuts: tuple[float, float], labels: tuple[str, str, str]) -> np.ndarray:
    return np.array(labels, dtype=object)[np.digitize(values, cuts)]


def _blank(rng: np.random.Generator, column: np.ndarray, share: float) -> np.ndarray:
    out = column.astype(object).copy()
    out[rng.uniform(size=len(out)) < share] = None
    return out


def generate_portfolio(
    n_accounts: int = 2000, months: int = 36, seed: int = 42, end: pd.Timestamp = DEFAULT_END
) -> Portfolio:
    """A seeded synthetic portfolio: same arguments, same frames."""
    if n_accounts < 1:
        raise InputError(f"--accounts {n_accounts}: need at least 1 account; pass e.g. --accounts 2000.")
    if not 1 <= months <= 240:
        raise InputError(f"--months {months}: must be between 1 and 240; pass e.g. --months 36.")
    rng = np.random.default_rng(seed)
    n, m = n_accounts, months
    end = pd.Timestamp(end).to_period("M").to_timestamp()
    month_start = pd.date_range(end - pd.DateOffset(months=m), periods=m, freq="MS").to_numpy()
    start = pd.Timestamp(month_start[0])

    # ---------------------------------------------------------------- accounts and latent traits
    ids = np.array([f"A{i:06d}" for i in range(1, n + 1)], dtype=object)
    industry_idx = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_P)
    industry = np.array(INDUSTRIES, dtype=object)[industry_idx]
    region = rng.choice(np.array(REGIONS, dtype=object), n)
    employees = np.clip(np.round(rng.lognormal(np.log(250), 1.4, n)), 5, 200_000).astype(int)
    revenue = employees * np.array(REVENUE_PER_HEAD)[industry_idx] * rng.lognormal(0, 0.3, n)
    fit = rng.beta(2.5, 2.0, n)
    health = rng.beta(3.0, 1.5, n)
    relation = rng.beta(2.0, 2.0, n)
    noise = lambda s=0.15: rng.normal(0, s, n)  # noqa: E731

    culture_fit = _levels(fit + noise(), (0.4, 0.65), ("poor", "fair", "good"))
    product_suitability = np.clip(np.round(1 + 4 * (fit + noise())), 1, 5).astype(int)
    collaboration = _levels(fit + noise(0.2), (0.35, 0.6), ("adversarial", "neutral", "win_win"))
    price_buyer = (1 - fit + noise(0.2)) > 0.62
    buyer_orientation = np.where(price_buyer, "price", "value").astype(object)
    sophistication = _levels(np.log10(employees) / 4 + noise(0.2), (0.45, 0.8), ("low", "medium", "high"))
    payment_health = _levels(health + noise(), (0.35, 0.55), ("poor", "late", "good"))
    business_health = _levels(health + noise(), (0.4, 0.65), ("weak", "stable", "strong"))
    growth_trend = _levels(health + noise(0.2), (0.45, 0.75), ("declining", "flat", "growing"))
    exec_sponsor = relation + noise() > 0.55
    num_contacts = 1 + rng.poisson(0.5 + 5 * relation)
    openness = _levels(relation + noise(), (0.35, 0.65), ("low", "medium", "high"))
    commitment = _levels((relation + fit) / 2 + noise(), (0.4, 0.6), ("low", "medium", "high"))
    reputation = np.clip(np.round(3 + np.log10(employees) / 2 - 1 + rng.normal(0, 0.8, n)), 1, 5).astype(int)
    decision_location = rng.choice(
        np.array(("local", "regional", "remote"), dtype=object), n, p=(0.5, 0.3, 0.2)
    )
    acquired = rng.uniform(size=n) < 0.03
    referral = _levels(fit * 0.6 + relation * 0.4 + noise(), (0.4, 0.65), ("low", "medium", "high"))
    influence = _levels(
        np.log10(employees) / 4 + reputation / 10 + noise(0.2), (0.6, 0.9), ("low", "medium", "high")
    )
    knowledge = _levels(
        fit * 0.5 + np.log10(employees) / 8 + noise(0.2), (0.45, 0.7), ("low", "medium", "high")
    )

    created = np.where(
        rng.uniform(size=n) < 0.7,
        start - pd.to_timedelta(rng.integers(30, 3650, n), unit="D"),
        start + pd.to_timedelta(rng.integers(0, max((end - start).days - 60, 1), n), unit="D"),
    ).astype("datetime64[ns]")
    created_month = np.clip(np.searchsorted(month_start, created, side="right") - 1, 0, m - 1)
    created_month = np.where(created < month_start[0], 0, created_month)
    prospect = rng.uniform(size=n) < 0.05

    # ---------------------------------------------------------------- wallet, churn and expansion
    wallet = revenue * np.array(SPEND_SHARE)[industry_idx] * rng.lognormal(0, 0.5, n)
    share = rng.beta(2.0, 5.0, n)
    single = num_contacts == 1
    z_churn = (
        -4.0
        + 3.2 * (0.6 - health)
        + 0.7 * price_buyer
        + 0.8 * (collaboration == "adversarial")
        + 1.6 * acquired
        + 2.0 * (0.55 - fit)
        + 0.6 * single
        - 0.6 * exec_sponsor
        + rng.normal(0, 0.35, n)
    )
    churn_hazard = _sigmoid(z_churn)
    headroom = np.log(1 / share)  # small share = large headroom
    z_exp = (
        -5.2
        + 1.1 * headroom
        + 0.35 * np.log10(wallet / np.median(wallet))
        + 2.2 * (fit - 0.55)
        + 0.5 * exec_sponsor
        + 0.4 * (openness == "high")
        + rng.normal(0, 0.35, n)
    )
    exp_hazard = _sigmoid(z_exp)
    churn_at = created_month + rng.geometric(
        churn_hazard
    )  # month index of churn (>= m: never within the book)
    churn_at = np.where(prospect, m + 1, churn_at)
    exp_at = created_month + rng.geometric(exp_hazard)
    exp_at = np.where(exp_at < churn_at - 1, exp_at, m + 1)
    exp_mult = rng.uniform(1.6, 3.0, n)

    t = np.arange(m)[None, :]
    alive = (t >= created_month[:, None]) & (t < churn_at[:, None]) & ~prospect[:, None]
    before_churn = churn_at[:, None] - t  # 1 = last month before churn
    decline = np.where(
        (before_churn >= 1) & (before_churn <= PRE_CHURN_MONTHS),
        0.2 + 0.8 * (before_churn - 1) / PRE_CHURN_MONTHS,
        1.0,
    )
    expanded = t >= exp_at[:, None]
    pre_exp = (exp_at[:, None] - t >= 1) & (exp_at[:, None] - t <= PRE_EXPANSION_MONTHS)
    level = decline * np.where(expanded, exp_mult[:, None], 1.0)
    calendar = pd.DatetimeIndex(month_start).month.to_numpy() - 1
    season = SEASON[calendar][None, :]

    # ---------------------------------------------------------------- transactions
    # ordering cadence: most accounts order monthly, some every other month; orders get skipped more often
    # as an account winds down before churning. Demand accrues between orders, so an order books everything
    # since the previous one (lumpy like real orders, but no spend is lost)
    cadence = rng.choice(np.array([1, 2]), n, p=(0.85, 0.15))
    phase = rng.integers(0, 2, n)
    scheduled = ((t + phase[:, None]) % cadence[:, None]) == 0
    keep = rng.uniform(size=(n, m)) < 0.93 * np.where(before_churn <= PRE_CHURN_MONTHS, decline, 1.0)
    has_order = scheduled & keep & alive
    counts = has_order.astype(int) + (has_order & (rng.uniform(size=(n, m)) < 0.12))
    demand = (wallet * share / 12)[:, None] * season * level * rng.lognormal(0, 0.12, (n, m)) * alive
    cumulative = np.cumsum(demand, axis=1)
    last = np.maximum.accumulate(np.where(has_order, t, -1), axis=1)
    previous = np.concatenate([np.full((n, 1), -1), last[:, :-1]], axis=1)
    booked = cumulative - np.where(
        previous >= 0, np.take_along_axis(cumulative, np.maximum(previous, 0), axis=1), 0.0
    )
    acc_i, mon_i = np.nonzero(counts)
    reps = counts[acc_i, mon_i]
    acc_o = np.repeat(acc_i, reps)
    mon_o = np.repeat(mon_i, reps)
    amount = booked[acc_o, mon_o] / reps.repeat(reps) * rng.lognormal(0, 0.1, len(acc_o))
    amount = np.maximum(np.round(amount, 2), 1.0)
    order_day = rng.integers(2, 26, n)  # each account orders around its own day of the month
    day = np.clip(order_day[acc_o] + rng.integers(-2, 3, len(acc_o)), 0, 27)
    dates = month_start[mon_o] + (day * 86_400_000_000_000).astype("timedelta64[ns]")
    dates = np.maximum(dates, created[acc_o])
    base_product = rng.integers(0, PRODUCTS, n)
    breadth = 1 + rng.poisson(1.0, n)
    product_span = breadth[acc_o] + 2 * expanded[acc_o, mon_o]
    product = (base_product[acc_o] + rng.integers(0, 1 << 30, len(acc_o)) % product_span) % PRODUCTS
    unit_price = np.round(rng.uniform(40, 400, PRODUCTS), 2)
    quantity = np.maximum(1, np.round(amount / unit_price[product])).astype(int)
    kind = np.where(rng.uniform(size=len(acc_o)) < 0.1, "renewal", "order").astype(object)
    refund = rng.uniform(size=len(acc_o)) < 0.03
    r_dates = dates[refund] + (rng.integers(3, 60, refund.sum()) * 86_400_000_000_000).astype(
        "timedelta64[ns]"
    )
    r_keep = r_dates < np.datetime64(end)
    product_names = np.array([f"P{i + 1:02d}" for i in range(PRODUCTS)], dtype=object)
    transactions = pd.DataFrame(
        {
            "account_id": np.concatenate([ids[acc_o], ids[acc_o[refund]][r_keep]]),
            "date": np.concatenate([dates, r_dates[r_keep]]),
            "amount": np.concatenate(
                [amount, -np.round(amount[refund][r_keep] * rng.uniform(0.1, 0.6, r_keep.sum()), 2)]
            ),
            "product": np.concatenate([product_names[product], product_names[product[refund]][r_keep]]),
            "quantity": np.concatenate([quantity, quantity[refund][r_keep]]),
            "kind": np.concatenate([kind, np.full(r_keep.sum(), "refund", dtype=object)]),
        }
    )
    transactions = transactions.sort_values(["date", "account_id"], kind="mergesort", ignore_index=True)

    # ---------------------------------------------------------------- activities
    engaged = 0.3 + 1.4 * relation
    exists = t >= created_month[:, None]
    after = np.where(alive | prospect[:, None], 1.0, 0.05) * exists
    prospect_f = np.where(prospect, 0.3, 1.0)[:, None]
    warm = np.where(pre_exp, 2.0, 1.0)
    rates = {
        "meeting": 0.3 * engaged[:, None] * decline * warm,
        "email": 0.75 * engaged[:, None] * decline,
        "call": 0.25 * engaged[:, None] * decline,
        "support_ticket": (0.12 + 0.1 * (product_suitability <= 2))[:, None]
        * np.where(before_churn <= PRE_CHURN_MONTHS, 2.5, 1.0),
        "exec_meeting": (0.04 + 0.22 * exec_sponsor)[:, None] * decline * np.where(pre_exp, 3.0, 1.0),
    }
    parts = []
    roles = np.array(["buyer", "user", "it", "finance", "procurement"], dtype=object)
    for kind_name, lam in rates.items():
        c = rng.poisson(lam * after * prospect_f)
        a_i, m_i = np.nonzero(c)
        r = c[a_i, m_i]
        a_o, m_o = np.repeat(a_i, r), np.repeat(m_i, r)
        d = month_start[m_o] + (rng.integers(0, 28, len(a_o)) * 86_400_000_000_000).astype("timedelta64[ns]")
        d = np.maximum(d, created[a_o])
        if kind_name == "exec_meeting":
            contact_no = np.zeros(len(a_o), dtype=int)
        else:
            contact_no = rng.integers(0, 1 << 30, len(a_o)) % num_contacts[a_o]
        exec_contact = contact_no == 0
        parts.append(
            pd.DataFrame(
                {
                    "account_id": ids[a_o],
                    "date": d,
                    "kind": kind_name,
                    "contact_no": contact_no,
                    "contact_role": np.where(
                        exec_contact & (kind_name == "exec_meeting"),
                        "executive",
                        roles[contact_no % len(roles)],
                    ),
                    "seniority": np.where(
                        kind_name == "exec_meeting",
                        "executive",
                        np.where(contact_no % 3 == 1, "manager", "staff"),
                    ),
                }
            )
        )
    activities = pd.concat(parts, ignore_index=True)
    activities["contact_id"] = activities["account_id"] + "-K" + activities["contact_no"].astype(str)
    activities = activities.drop(columns="contact_no")[
        ["account_id", "date", "kind", "contact_id", "contact_role", "seniority"]
    ]
    activities = activities.sort_values(["date", "account_id"], kind="mergesort", ignore_index=True)

    # ---------------------------------------------------------------- names and tables
    a, b, s = (
        rng.integers(0, len(NAME_A), n),
        rng.integers(0, len(NAME_B), n),
        rng.integers(0, len(SUFFIX), n),
    )
    names = [
        f"{NAME_A[x]}{NAME_B[y]} {NAME_C[ind]} {SUFFIX[z]}"
        for x, y, z, ind in zip(a, b, s, industry, strict=True)
    ]
    for i in range(0, n, 97):  # a few real-world awkward names
        names[i] = names[i].replace(" ", ", ", 1) if i % 2 else names[i].replace(" ", "'s ", 1)
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "account_name": names,
            "industry": industry,
            "region": region,
            "employees": employees,
            "annual_revenue": np.round(revenue, -3),
            "created_date": pd.DatetimeIndex(created).normalize(),
            "sophistication": _blank(rng, sophistication, 0.06),
            "culture_fit": _blank(rng, culture_fit, 0.08),
            "decision_location": _blank(rng, decision_location, 0.08),
            "product_suitability": pd.array(
                np.where(rng.uniform(size=n) < 0.05, pd.NA, product_suitability), dtype="Int64"
            ),
            "executive_sponsor": _blank(rng, np.where(exec_sponsor, "yes", "no"), 0.05),
            "num_contacts": num_contacts,
            "reputation": reputation,
            "growth_trend": _blank(rng, growth_trend, 0.07),
            "buyer_orientation": _blank(rng, buyer_orientation, 0.08),
            "payment_health": _blank(rng, payment_health, 0.05),
            "business_health": _blank(rng, business_health, 0.07),
            "commitment": _blank(rng, commitment, 0.1),
            "openness": _blank(rng, openness, 0.1),
            "acquired_by_competitor": np.where(acquired, "yes", "no").astype(object),
            "referral_value": _blank(rng, referral, 0.1),
            "influence_value": _blank(rng, influence, 0.1),
            "knowledge_value": _blank(rng, knowledge, 0.1),
            "collaboration": _blank(rng, collaboration, 0.08),
        }
    )
    month_ts = lambda idx: pd.DatetimeIndex(  # noqa: E731
        np.where(idx < m, month_start[np.minimum(idx, m - 1)], np.datetime64("NaT"))
    )
    truth = pd.DataFrame(
        {
            "account_id": ids,
            "churn_hazard_monthly": np.round(churn_hazard, 6),
            "churn_propensity": np.round(1 - (1 - churn_hazard) ** 3, 6),
            "expansion_propensity": np.round(1 - (1 - exp_hazard) ** 3, 6),
            "wallet": np.round(wallet, 2),
            "share_of_wallet": np.round(share, 4),
            "fit": np.round(fit, 4),
            "churn_date": month_ts(churn_at),
            "expansion_date": month_ts(exp_at),
            "is_prospect": prospect,
        }
    )
    return Portfolio(accounts, transactions, activities, truth)


def write_portfolio(portfolio: Portfolio, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write accounts, transactions, activities and truth as CSV (ISO dates) or Parquet, atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if fmt not in ("csv", "parquet"):
        raise InputError(f"--format '{fmt}' is not supported; use csv or parquet.")
    out_dir = Path(out_dir)
    paths = []
    for name in ("accounts", "transactions", "activities", "truth"):
        frame = getattr(portfolio, name).copy()
        path = out_dir / f"{name}.{fmt}"
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
