"""The accounts of the demo world: who they are, their latent traits, and the profile columns observing them.

Latent traits (never written out, except a few in `truth`):
- *fit* (culture, product suitability, collaboration, value orientation), *health* (payment, business,
  growth) and *relationship* (executive sponsor, contacts, openness), each in [0, 1];
- *wallet* (yearly potential spend, from company size) and the *share* of it the account buys today;
- the fiscal-year start month, which sets when budgets open.
Profile columns are noisy observations of the traits (some blanked), so no column reads a trait exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
# how strongly each industry follows the SEASON curve (retail's Q4, public sector's year-end budget flush)
SEASON_AMPLITUDE = (1.0, 1.8, 0.6, 1.0, 1.2, 1.4, 0.8, 1.3)
# fiscal-year start month per industry: probabilities of January, April, July, October
FISCAL_STARTS = (1, 4, 7, 10)
FISCAL_P = (
    (0.55, 0.10, 0.30, 0.05),
    (0.45, 0.10, 0.15, 0.30),
    (0.50, 0.15, 0.30, 0.05),
    (0.65, 0.15, 0.15, 0.05),
    (0.50, 0.05, 0.40, 0.05),
    (0.55, 0.10, 0.30, 0.05),
    (0.60, 0.10, 0.25, 0.05),
    (0.25, 0.40, 0.10, 0.25),
)
REGIONS = ("north", "south", "east", "west", "central")
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
class World:
    """Accounts, their latent traits and the month grid; every array has one entry per account."""

    month_start: np.ndarray  # datetime64[ns], one per month of the book
    calendar: np.ndarray  # month of year (0 = January) of each book month
    ids: np.ndarray  # account ids, zero padded so their string order is their index order
    industry_idx: np.ndarray
    employees: np.ndarray
    revenue: np.ndarray
    fit: np.ndarray
    health: np.ndarray
    relation: np.ndarray
    wallet: np.ndarray  # yearly potential spend
    share: np.ndarray  # share of wallet bought at the start
    fiscal_start: np.ndarray  # month of year (0 = January) the account's budget year starts
    price_buyer: np.ndarray
    adversarial: np.ndarray
    acquired: np.ndarray
    exec_sponsor: np.ndarray
    openness_high: np.ndarray
    num_contacts: np.ndarray  # contacts known at the start of the book
    product_suitability: np.ndarray
    created: np.ndarray  # datetime64[ns]
    created_month: np.ndarray  # first book month the account exists in (0 for older accounts)
    prospect: np.ndarray  # never buys
    accounts: pd.DataFrame  # the profile table written to accounts.csv

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return len(self.month_start)


def _levels(values: np.ndarray, cuts: tuple[float, float], labels: tuple[str, str, str]) -> np.ndarray:
    return np.array(labels, dtype=object)[np.digitize(values, cuts)]


def _blank(rng: np.random.Generator, column: np.ndarray, share: float) -> np.ndarray:
    out = column.astype(object).copy()
    out[rng.uniform(size=len(out)) < share] = None
    return out


def build_world(rng: np.random.Generator, n: int, m: int, end: pd.Timestamp) -> World:
    """Draw `n` accounts over the `m` months ending before `end` (a month start)."""
    month_start = pd.date_range(end - pd.DateOffset(months=m), periods=m, freq="MS").to_numpy()
    start = pd.Timestamp(month_start[0])
    calendar = pd.DatetimeIndex(month_start).month.to_numpy() - 1

    ids = np.array([f"A{i:06d}" for i in range(1, n + 1)], dtype=object)
    industry_idx = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_P)
    industry = np.array(INDUSTRIES, dtype=object)[industry_idx]
    region = rng.choice(np.array(REGIONS, dtype=object), n)
    employees = np.clip(np.round(rng.lognormal(np.log(250), 1.4, n)), 5, 200_000).astype(int)
    revenue = employees * np.array(REVENUE_PER_HEAD)[industry_idx] * rng.lognormal(0, 0.3, n)
    fit = rng.beta(2.5, 2.0, n)
    health = rng.beta(3.0, 1.5, n)
    relation = rng.beta(2.0, 2.0, n)

    def noise(scale: float = 0.15) -> np.ndarray:
        return rng.normal(0, scale, n)

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

    wallet = revenue * np.array(SPEND_SHARE)[industry_idx] * rng.lognormal(0, 0.5, n)
    share = rng.beta(2.0, 5.0, n)
    fiscal_cum = np.cumsum(np.array(FISCAL_P), axis=1)[industry_idx]
    fiscal_pick = (rng.uniform(size=n)[:, None] > fiscal_cum).sum(axis=1).clip(0, len(FISCAL_STARTS) - 1)
    fiscal_start = np.array(FISCAL_STARTS)[fiscal_pick] - 1

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
            # the month budgets open, as CRMs hold it (some blank); drawn from a child generator so the
            # rest of the world is the same with or without the column
            "fiscal_year_start": pd.array(_blank(rng.spawn(1)[0], fiscal_start + 1, 0.1), dtype="Int64"),
        }
    )
    return World(
        month_start=month_start,
        calendar=calendar,
        ids=ids,
        industry_idx=industry_idx,
        employees=employees,
        revenue=revenue,
        fit=fit,
        health=health,
        relation=relation,
        wallet=wallet,
        share=share,
        fiscal_start=fiscal_start,
        price_buyer=price_buyer,
        adversarial=collaboration == "adversarial",
        acquired=acquired,
        exec_sponsor=exec_sponsor,
        openness_high=openness == "high",
        num_contacts=num_contacts,
        product_suitability=product_suitability,
        created=created,
        created_month=created_month,
        prospect=prospect,
        accounts=accounts,
    )
