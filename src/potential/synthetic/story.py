"""What happens to each account month by month: churn, expansions, false starts, and the signals before them.

Everything is drawn on the accounts x months grid. The only Python loop runs over months (the expansion
process needs the account's state: headroom left after an earlier expansion, a cool-down after an episode).

- **Churn** is a static monthly hazard from the latent traits; the PRE_CHURN_MONTHS before it wind down.
- **Expansion episodes**: each month an account may resolve a buying initiative. The monthly chance grows
  with headroom (small share of a large wallet), fit, an executive sponsor and openness, and follows the
  account's budget year (BUDGET_CURVE, high in the months after the fiscal-year start). A real expansion
  multiplies the demand level for good (`magnitude`) and widens the product span; it uses up headroom, so
  a second one is rarer. A *false start* is an initiative that gets no budget: the same run-up, no step.
- **Signals** precede an announced episode by a random lead of 1-6 months: new contacts in finance /
  procurement / executive roles, extra executive meetings, trial orders of a product the account never
  bought, rising meetings / calls / emails. Each announced episode shows a random subset of them;
  SILENT_SHARE of real expansions show none. The same signals also occur as background noise.
- **Spend noise** that is not expansion: organic drift, quiet spells (2-3 months at a lower level, then
  back to normal), one-off project orders, seasonality (applied in `tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from potential.synthetic.world import World

PRODUCTS = 12
PRE_CHURN_MONTHS = 5
MAX_LEAD = 6
LEAD_P = (0.25, 0.30, 0.22, 0.13, 0.07, 0.03)  # lead of the first signal before the step: 1..6 months
SILENT_SHARE = 0.15  # real expansions without any signal
SIGNALS = ("contacts", "exec", "trial", "engagement")
SIGNAL_P = (0.6, 0.5, 0.45, 0.65)  # chance an announced episode shows each signal (at least one shows)
FALSE_START_RATIO = 0.3  # false-start chance relative to the real-expansion chance (at average health)
MAGNITUDE = (1.4, 2.4)  # demand multiplier of a real expansion, log-uniform
HEADROOM_USE = 2.0  # the expansion chance falls as level ** -HEADROOM_USE after each step
COOL_DOWN_REAL, COOL_DOWN_FALSE = 12, 5  # months before the next episode can resolve
# expansion chance by month since the fiscal-year start (mean 1): budgets open, mid-year review
BUDGET_CURVE = np.array([2.2, 1.8, 1.3, 1.0, 0.8, 0.7, 1.0, 0.8, 0.6, 0.5, 0.5, 0.4])
BUDGET_CURVE = BUDGET_CURVE / BUDGET_CURVE.mean()
NEW_ROLES = np.array(["finance", "procurement", "executive", "it"], dtype=object)
NEW_ROLE_P = (0.35, 0.30, 0.20, 0.15)
TURNOVER_ROLES = np.array(["user", "buyer", "it", "finance", "procurement"], dtype=object)
TURNOVER_ROLE_P = (0.35, 0.20, 0.25, 0.10, 0.10)
TURNOVER_RATE = 0.02  # new contacts per account-month without any initiative (staff changes)
NOISE_TRIAL_RATE = 0.01  # trial orders per account-month without any initiative
QUIET_RATE, SPIKE_RATE = 0.025, 0.015  # quiet-spell starts and one-off project orders per account-month


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Episodes:
    """One row per episode (a real expansion or a false start), ordered by account then month."""

    account: np.ndarray
    month: np.ndarray  # book month the step happens (or would have happened)
    real: np.ndarray  # bool: a real expansion
    magnitude: np.ndarray  # demand multiplier (1.0 for false starts)
    lead: np.ndarray  # months from the first signal to the step (0: no signal)
    signals: np.ndarray  # bool (episodes x SIGNALS)


@dataclass(frozen=True)
class NewContacts:
    """Contacts appearing during the book, numbered per account after the initial ones."""

    account: np.ndarray
    number: np.ndarray  # contact number within the account (initial contacts are 0 .. num_contacts-1)
    month: np.ndarray  # first book month the contact appears in
    role: np.ndarray
    seniority: np.ndarray


@dataclass(frozen=True)
class Trials:
    """Small orders of a product the account has not bought before."""

    account: np.ndarray
    month: np.ndarray
    offset: np.ndarray  # product offset past the account's current span (0 = the next product)
    size: np.ndarray  # share of a normal month's demand


@dataclass(frozen=True)
class Story:
    """The latent month-by-month state of every account (arrays are accounts x months unless noted)."""

    churn_hazard: np.ndarray  # per account, monthly
    expansion_hazard: np.ndarray  # per account, monthly, at an average budget month and full headroom
    churn_at: np.ndarray  # per account: book month of churn (>= m: not within the book)
    alive: np.ndarray
    decline: np.ndarray  # churn wind-down factor (1 outside it)
    winding_down: np.ndarray  # bool: within PRE_CHURN_MONTHS before churn
    level: np.ndarray  # demand level from expansions (cumulative product of magnitudes)
    shape: np.ndarray  # non-expansion spend variation: drift, quiet spells, one-off project orders
    span: np.ndarray  # number of products the account buys regularly
    ramp: np.ndarray  # engagement multiplier of the run-up before episodes
    exec_extra: np.ndarray  # extra executive meetings per month before episodes
    episodes: Episodes
    contacts: NewContacts
    trials: Trials


def _churn(rng: np.random.Generator, w: World) -> tuple[np.ndarray, np.ndarray]:
    z = (
        -4.0
        + 3.2 * (0.6 - w.health)
        + 0.7 * w.price_buyer
        + 0.8 * w.adversarial
        + 1.6 * w.acquired
        + 2.0 * (0.55 - w.fit)
        + 0.6 * (w.num_contacts == 1)
        - 0.6 * w.exec_sponsor
        + rng.normal(0, 0.35, w.n)
    )
    hazard = sigmoid(z)
    churn_at = w.created_month + rng.geometric(hazard)
    return hazard, np.where(w.prospect, w.m + 1, churn_at)


def _expansion_hazard(rng: np.random.Generator, w: World) -> np.ndarray:
    headroom = np.minimum(np.log(1 / w.share), 3.0)  # small share = large headroom
    z = (
        -5.3
        + 0.9 * headroom
        + 0.35 * np.log10(w.wallet / np.median(w.wallet))
        + 2.2 * (w.fit - 0.55)
        + 0.5 * w.exec_sponsor
        + 0.4 * w.openness_high
        + rng.normal(0, 0.35, w.n)
    )
    return sigmoid(z)


def _resolve_episodes(
    rng: np.random.Generator, w: World, hazard: np.ndarray, churn_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Month by month: which accounts expand (magnitude grid, 0 = none) and which have a false start."""
    n, m = w.n, w.m
    false_hazard = FALSE_START_RATIO * hazard * np.exp(1.5 * (0.67 - w.health))
    draw = rng.uniform(size=(n, m))
    magnitude = np.zeros((n, m))
    false_start = np.zeros((n, m), dtype=bool)
    level = np.ones(n)
    next_ok = w.created_month + 2
    limit = np.where(w.prospect, -1, churn_at - PRE_CHURN_MONTHS)
    for t in range(m):
        budget = BUDGET_CURVE[(w.calendar[t] - w.fiscal_start) % 12]
        ok = (t >= next_ok) & (t < limit)
        p_real = hazard * budget * level**-HEADROOM_USE * (w.share * level < 0.9)
        real = ok & (draw[:, t] < p_real)
        false = ok & ~real & (draw[:, t] < p_real + false_hazard * budget)
        step = np.exp(rng.uniform(np.log(MAGNITUDE[0]), np.log(MAGNITUDE[1]), int(real.sum())))
        magnitude[real, t] = step
        level[real] *= step
        false_start[:, t] = false
        next_ok = np.where(real, t + COOL_DOWN_REAL, np.where(false, t + COOL_DOWN_FALSE, next_ok))
    return magnitude, false_start


def _episodes(rng: np.random.Generator, magnitude: np.ndarray, false_start: np.ndarray) -> Episodes:
    account, month = np.nonzero((magnitude > 0) | false_start)
    k = len(account)
    real = magnitude[account, month] > 0
    lead = rng.choice(np.arange(1, MAX_LEAD + 1), k, p=LEAD_P)
    announced = ~real | (rng.uniform(size=k) >= SILENT_SHARE)
    signals = rng.uniform(size=(k, len(SIGNALS))) < np.array(SIGNAL_P)
    none = ~signals.any(axis=1)
    signals[none, rng.integers(0, len(SIGNALS), k)[none]] = True
    signals &= announced[:, None]
    return Episodes(
        account=account,
        month=month,
        real=real,
        magnitude=np.where(real, magnitude[account, month], 1.0),
        lead=np.where(announced, lead, 0),
        signals=signals,
    )


def _run_up(
    rng: np.random.Generator, w: World, ep: Episodes, alive: np.ndarray
) -> tuple[np.ndarray, np.ndarray, NewContacts, Trials]:
    """Engagement ramp, extra executive meetings, new contacts and trial orders before the episodes.

    Background noise of the same kinds (staff changes, trial orders that lead nowhere) comes with them.
    """
    n, m = w.n, w.m
    k = len(ep.account)
    first = ep.month - ep.lead  # month of the first signal
    before = np.arange(1, MAX_LEAD + 1)[None, :]  # months before the step
    cell_t = ep.month[:, None] - before
    in_window = (
        (before <= ep.lead[:, None]) & (cell_t >= w.created_month[ep.account][:, None]) & (cell_t >= 0)
    )
    flat = ep.account[:, None] * m + np.maximum(cell_t, 0)

    ramp = np.ones(n * m)
    amplitude = rng.uniform(0.6, 1.6, k)[:, None]
    progress = (ep.lead[:, None] - before + 1) / np.maximum(ep.lead[:, None], 1)
    use = in_window & ep.signals[:, [SIGNALS.index("engagement")]]
    np.maximum.at(ramp, flat[use], (1 + amplitude * progress)[use])

    exec_extra = np.zeros(n * m)
    use = in_window & ep.signals[:, [SIGNALS.index("exec")]] & (before <= 2)
    np.add.at(exec_extra, flat[use], np.where(before == 1, 0.9, 0.5).repeat(k, axis=0)[use])

    # new contacts of the initiative: 1-3 people from finance, procurement, the executive floor
    has = ep.signals[:, SIGNALS.index("contacts")]
    count = has * (1 + (rng.uniform(size=k) < 0.45) + (rng.uniform(size=k) < 0.15))
    c_ep = np.repeat(np.arange(k), count)
    c_month = first[c_ep] + (rng.uniform(size=len(c_ep)) * np.ceil(ep.lead[c_ep] / 2)).astype(int)
    c_role = rng.choice(NEW_ROLES, len(c_ep), p=NEW_ROLE_P)
    c_senior = np.where(
        c_role == "executive",
        "executive",
        np.where(rng.uniform(size=len(c_ep)) < 0.4, "director", "manager"),
    ).astype(object)
    c_account = ep.account[c_ep]

    # staff changes bring new contacts too, mostly operational roles
    t_account, t_month = np.nonzero(alive & (rng.uniform(size=(n, m)) < TURNOVER_RATE))
    t_role = rng.choice(TURNOVER_ROLES, len(t_account), p=TURNOVER_ROLE_P)
    t_senior = np.where(rng.uniform(size=len(t_account)) < 0.3, "manager", "staff").astype(object)

    account = np.concatenate([c_account, t_account])
    month = np.concatenate([c_month, t_month])
    keep = (month >= 0) & (month >= w.created_month[account])
    order = np.lexsort((month[keep], account[keep]))
    account, month = account[keep][order], month[keep][order]
    role = np.concatenate([c_role, t_role])[keep][order]
    seniority = np.concatenate([c_senior, t_senior])[keep][order]
    rank = np.arange(len(account)) - np.searchsorted(account, account)
    contacts = NewContacts(account, w.num_contacts[account] + rank, month, role, seniority)

    # trial orders: one or two small orders of the next product, somewhere in the run-up
    has = ep.signals[:, SIGNALS.index("trial")]
    count = has * (1 + (rng.uniform(size=k) < 0.3))
    r_ep = np.repeat(np.arange(k), count)
    r_month = ep.month[r_ep] - 1 - (rng.uniform(size=len(r_ep)) * ep.lead[r_ep]).astype(int)
    n_account, n_month = np.nonzero(alive & (rng.uniform(size=(n, m)) < NOISE_TRIAL_RATE))
    account = np.concatenate([ep.account[r_ep], n_account])
    month = np.concatenate([r_month, n_month])
    offset = np.concatenate([np.zeros(len(r_ep), int), rng.integers(1, 4, len(n_account))])
    keep = (month >= 0) & (month >= w.created_month[account])
    trials = Trials(account[keep], month[keep], offset[keep], rng.uniform(0.03, 0.12, len(account))[keep])
    return ramp.reshape(n, m), exec_extra.reshape(n, m), contacts, trials


def _shape(rng: np.random.Generator, w: World) -> np.ndarray:
    """Spend variation that is not expansion: organic drift, quiet spells, one-off project orders."""
    n, m = w.n, w.m
    t = np.arange(m)[None, :]
    drift = np.exp(rng.normal(0.02 + 0.15 * (w.health - 0.67), 0.06, n)[:, None] * t / 12)
    quiet = np.ones(n * m)
    q_account, q_month = np.nonzero(rng.uniform(size=(n, m)) < QUIET_RATE)
    length = rng.integers(2, 4, len(q_account))
    depth = rng.uniform(0.35, 0.7, len(q_account))
    for d in range(3):
        use = (d < length) & (q_month + d < m)
        np.minimum.at(quiet, q_account[use] * m + q_month[use] + d, depth[use])
    spike = 1 + (rng.uniform(size=(n, m)) < SPIKE_RATE) * rng.uniform(0.8, 2.0, (n, m))
    return drift * quiet.reshape(n, m) * spike


def tell_story(rng: np.random.Generator, w: World) -> Story:
    """Draw churn, expansions, false starts, their run-ups and the spend noise for every account."""
    n, m = w.n, w.m
    churn_hazard, churn_at = _churn(rng, w)
    expansion_hazard = _expansion_hazard(rng, w)
    magnitude, false_start = _resolve_episodes(rng, w, expansion_hazard, churn_at)
    episodes = _episodes(rng, magnitude, false_start)
    t = np.arange(m)[None, :]
    alive = (t >= w.created_month[:, None]) & (t < churn_at[:, None]) & ~w.prospect[:, None]
    ramp, exec_extra, contacts, trials = _run_up(rng, w, episodes, alive)

    before_churn = churn_at[:, None] - t  # 1 = last month before churn
    winding_down = (before_churn >= 1) & (before_churn <= PRE_CHURN_MONTHS)
    decline = np.where(winding_down, 0.2 + 0.8 * (before_churn - 1) / PRE_CHURN_MONTHS, 1.0)
    level = np.exp(np.cumsum(np.log(np.where(magnitude > 0, magnitude, 1.0)), axis=1))
    widen = np.where(magnitude > 0, 1 + (rng.uniform(size=(n, m)) < 0.5), 0)
    breadth = 1 + rng.poisson(1.0, n)
    span = np.minimum(breadth[:, None] + np.cumsum(widen, axis=1), PRODUCTS - 3)
    return Story(
        churn_hazard=churn_hazard,
        expansion_hazard=expansion_hazard,
        churn_at=churn_at,
        alive=alive,
        decline=decline,
        winding_down=winding_down,
        level=level,
        shape=_shape(rng, w),
        span=span,
        ramp=ramp,
        exec_extra=exec_extra,
        episodes=episodes,
        contacts=contacts,
        trials=trials,
    )
