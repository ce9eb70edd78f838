"""Inline SVG charts for the reports.

Every chart is a pure function of numbers and labels returning `markupsafe.Markup`: each piece of text is
escaped here, so templates insert the SVG as is. Coordinates are printed with fixed precision, so the
same input gives the same bytes. Fonts are inherited from the page (no font files, no external refs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np
from markupsafe import Markup

from potential.reports.format import money, money_short

INK, MUTED, GRID, AXIS = "#1f2933", "#5f6b7a", "#e6eaef", "#c5ccd5"
BLUE, ORANGE, GREY, RED, GREEN = "#2f6db5", "#d9822b", "#aab4bf", "#c0392b", "#2e8b57"
BAND_FILL = {"low": "#eef7f1", "medium": "#fdf5e6", "high": "#fbecea"}


def _f(x: float) -> str:
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def _text(
    x: float,
    y: float,
    body: str,
    *,
    anchor: str = "start",
    fill: str = INK,
    size: int | None = None,
    weight: str | None = None,
) -> str:
    extra = f' font-size="{size}"' if size else ""
    extra += f' font-weight="{weight}"' if weight else ""
    anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text x="{_f(x)}" y="{_f(y)}"{anchor_attr} fill="{fill}"{extra}>{escape(body)}</text>'


def _svg(width: int, height: int, body: list[str], label: str, css_class: str = "chart") -> Markup:
    """`css_class` 'chart stretch' fills its container's width (text scales with it); 'chart' keeps its size."""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}" font-size="12">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def nice_step(span: float, target: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^k) giving about `target` intervals over `span`."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw - 1e-12:
            return multiple * magnitude
    return 10 * magnitude


def _ticks(lo: float, hi: float, target: int = 4) -> list[float]:
    """Round ticks from at or below `lo` to at or above `hi`."""
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9) * step
    ticks, value = [], first
    while True:
        ticks.append(round(value, 10))
        if value >= hi - step * 1e-6:
            return ticks
        value += step


def _percent_labels(ticks: list[float]) -> list[str]:
    """Tick labels in percent with as many decimals as the step needs (0.5% steps read 0.5%, 1.0%, ...)."""
    step = abs(ticks[1] - ticks[0]) * 100 if len(ticks) > 1 else 1.0
    decimals = 0 if step >= 1 or step <= 0 else math.ceil(-math.log10(step) - 1e-9)
    return [f"{tick * 100:.{decimals}f}%" for tick in ticks]


def _clip_label(label: str, limit: int) -> str:
    label = " ".join(str(label).split())  # newlines and runs of spaces collapse to one space
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------------------------- waterfall
def waterfall(
    base: float,
    items: Sequence[tuple[str, float]],
    final: float,
    *,
    up_is_bad: bool,
    label: str,
    base_label: str = "Portfolio average",
    final_label: str = "This account",
    width: int = 900,
) -> Markup:
    """Horizontal waterfall: the portfolio base, each driver's signed contribution, then this account's probability.

    `base`, the deltas and `final` are probabilities (0.123 = 12.3%); deltas are labelled in points.
    `up_is_bad` colours increases red (churn) or green (expansion).
    """
    row_h, top, bottom = 26, 8, 30
    label_w, value_w = 380, 78
    plot_l, plot_r = label_w + 12, width - value_w
    levels = [base, *(base + np.cumsum([d for _, d in items])).tolist(), final]
    lo, hi = min(0.0, *levels), max(*levels, 0.01)
    ticks = _ticks(lo, hi, 5)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    span = hi - lo

    def x(value: float) -> float:
        return plot_l + (value - lo) / span * (plot_r - plot_l)

    n_rows = len(items) + 2
    height = top + n_rows * row_h + bottom
    axis_y = top + n_rows * row_h
    body: list[str] = []
    for tick, label in zip(ticks, _percent_labels(ticks), strict=True):
        body.append(f'<line x1="{_f(x(tick))}" y1="{top}" x2="{_f(x(tick))}" y2="{axis_y}" stroke="{GRID}"/>')
        body.append(_text(x(tick), axis_y + 16, label, anchor="middle", fill=MUTED, size=11))
    body.append(f'<line x1="{plot_l}" y1="{axis_y}" x2="{plot_r}" y2="{axis_y}" stroke="{AXIS}"/>')

    def row(
        i: int,
        name: str,
        start: float,
        end: float,
        color: str,
        value_text: str,
        bold: bool = False,
        tip: str = "",
    ) -> None:
        y = top + i * row_h
        x0, x1 = sorted((x(start), x(end)))
        weight = "600" if bold else None
        tip_text = f"<title>{escape(tip or name)}: {escape(value_text)}</title>"
        body.append(f"<g>{tip_text}")
        body.append(_text(label_w, y + 17, _clip_label(name, 58), anchor="end", weight=weight))
        body.append(
            f'<rect x="{_f(x0)}" y="{y + 5}" width="{_f(max(x1 - x0, 1.5))}" height="{row_h - 10}" rx="2" fill="{color}"/>'
        )
        body.append(_text(x1 + 6, y + 17, value_text, weight=weight, fill=INK if bold else MUTED))
        body.append("</g>")

    row(0, base_label, 0.0, base, GREY, f"{base * 100:.1f}%")
    running = base
    for i, (name, delta) in enumerate(items, start=1):
        y = top + i * row_h
        body.append(
            f'<line x1="{_f(x(running))}" y1="{y - 5}" x2="{_f(x(running))}" y2="{y + 5}" stroke="{MUTED}" stroke-dasharray="2 2"/>'
        )
        bad = (delta > 0) == up_is_bad
        sign_text = f"{delta * 100:+.1f} pts"
        if sign_text.startswith("-") and float(sign_text.split()[0]) == 0:
            sign_text = "+" + sign_text[1:]
        row(i, name, running, running + delta, RED if bad else GREEN, sign_text, tip=str(name))
        running += delta
    y = top + (n_rows - 1) * row_h
    body.append(
        f'<line x1="{_f(x(running))}" y1="{y - 5}" x2="{_f(x(running))}" y2="{y + 5}" stroke="{MUTED}" stroke-dasharray="2 2"/>'
    )
    row(n_rows - 1, final_label, 0.0, final, INK, f"{final * 100:.1f}%", bold=True)
    return _svg(width, height, body, label, "chart stretch")


# ----------------------------------------------------------------------------------------------- history
def history(
    months: Sequence[str],
    spend: Sequence[float],
    orders: Sequence[int],
    activities: Sequence[int],
    currency: str = "",
    width: int = 900,
) -> Markup:
    """Monthly spend as bars (left axis) and activities as a line (right axis); `months` are 'YYYY-MM'."""
    height, left, right, top, bottom = 230, 70, 44, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(months), 1)
    peak = max(max(spend, default=0.0), 0.0)
    spend_ticks = _ticks(0.0, max(peak, 4.0), 4) if peak > 0 else [0.0, 1.0]
    act_ticks = _ticks(0.0, max(max(activities, default=0), 4), 4)
    s_max, a_max = spend_ticks[-1], act_ticks[-1]
    bottom_y = top + plot_h
    slot = plot_w / n
    body: list[str] = []
    for tick in spend_ticks if peak > 0 else spend_ticks[:1]:
        y = bottom_y - tick / s_max * plot_h
        body.append(f'<line x1="{left}" y1="{_f(y)}" x2="{left + plot_w}" y2="{_f(y)}" stroke="{GRID}"/>')
        body.append(_text(left - 8, y + 4, money_short(tick, currency), anchor="end", fill=MUTED, size=11))
    for tick in act_ticks:
        y = bottom_y - tick / a_max * plot_h
        body.append(_text(left + plot_w + 8, y + 4, f"{tick:g}", fill=ORANGE, size=11))
    body.append(f'<line x1="{left}" y1="{bottom_y}" x2="{left + plot_w}" y2="{bottom_y}" stroke="{AXIS}"/>')
    points = []
    for i, (month, s, o, a) in enumerate(zip(months, spend, orders, activities, strict=True)):
        x0 = left + i * slot
        h = max(s, 0.0) / s_max * plot_h
        year, mon = month[:4], int(month[5:7])
        name = MONTHS[mon - 1]
        tip = f"{name} {year}: spend {money(s, currency)}, {int(o)} order{'s' if int(o) != 1 else ''}, {int(a)} activit{'ies' if int(a) != 1 else 'y'}"
        body.append(f"<g><title>{escape(tip)}</title>")
        body.append(f'<rect x="{_f(x0)}" y="{top}" width="{_f(slot)}" height="{plot_h}" fill="transparent"/>')
        if h > 0:
            body.append(
                f'<rect x="{_f(x0 + slot * 0.15)}" y="{_f(bottom_y - h)}" width="{_f(slot * 0.7)}" height="{_f(h)}" rx="1.5" fill="{BLUE}"/>'
            )
        body.append("</g>")
        points.append((x0 + slot / 2, bottom_y - a / a_max * plot_h))
        body.append(_text(x0 + slot / 2, bottom_y + 15, name, anchor="middle", fill=MUTED, size=11))
        if mon == 1 or i == 0:
            body.append(
                _text(x0 + slot / 2, bottom_y + 29, year, anchor="middle", fill=MUTED, size=11, weight="600")
            )
    if points:
        path = " ".join(f"{_f(px)},{_f(py)}" for px, py in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{ORANGE}" stroke-width="2" stroke-linejoin="round"/>'
        )
        body.extend(f'<circle cx="{_f(px)}" cy="{_f(py)}" r="2.5" fill="{ORANGE}"/>' for px, py in points)
    return _svg(width, height, body, "Monthly spend (bars) and activities (line)", "chart stretch")


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ------------------------------------------------------------------------------------------ concentration
def concentration(
    account_share: Sequence[float],
    priority_share: Sequence[float],
    marker: float | None = None,
    marker_label: str = "Tier A",
) -> Markup:
    """The 80/20 curve: cumulative share of priority (y) against the share of ranked accounts (x)."""
    width, height, left, right, top, bottom = 460, 300, 48, 16, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(v: float) -> float:
        return left + v * plot_w

    def y(v: float) -> float:
        return top + plot_h - v * plot_h

    body: list[str] = []
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        body.append(
            f'<line x1="{_f(x(tick))}" y1="{top}" x2="{_f(x(tick))}" y2="{top + plot_h}" stroke="{GRID}"/>'
        )
        body.append(
            f'<line x1="{left}" y1="{_f(y(tick))}" x2="{left + plot_w}" y2="{_f(y(tick))}" stroke="{GRID}"/>'
        )
        body.append(
            _text(x(tick), top + plot_h + 15, f"{tick * 100:.0f}%", anchor="middle", fill=MUTED, size=11)
        )
        body.append(_text(left - 6, y(tick) + 4, f"{tick * 100:.0f}%", anchor="end", fill=MUTED, size=11))
    body.append(
        _text(
            left + plot_w / 2,
            height - 6,
            "share of accounts, highest priority first",
            anchor="middle",
            fill=MUTED,
            size=11,
        )
    )
    body.append(
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="{GREY}" stroke-dasharray="4 3"/>'
    )
    a = np.asarray(account_share, dtype=float)
    p = np.asarray(priority_share, dtype=float)
    if len(a):
        keep = np.unique(np.linspace(0, len(a) - 1, min(len(a), 240)).round().astype(int))
        pts = [(0.0, 0.0), *zip(a[keep].tolist(), p[keep].tolist(), strict=True)]
        path = " ".join(f"{_f(x(u))},{_f(y(v))}" for u, v in pts)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        if marker is not None and 0 < marker <= 1:
            held = float(np.interp(marker, np.r_[0.0, a], np.r_[0.0, p]))
            body.append(
                f'<line x1="{_f(x(marker))}" y1="{_f(y(0))}" x2="{_f(x(marker))}" y2="{_f(y(held))}" stroke="{ORANGE}" stroke-dasharray="3 3"/>'
            )
            body.append(
                f'<line x1="{_f(x(0))}" y1="{_f(y(held))}" x2="{_f(x(marker))}" y2="{_f(y(held))}" stroke="{ORANGE}" stroke-dasharray="3 3"/>'
            )
            body.append(f'<circle cx="{_f(x(marker))}" cy="{_f(y(held))}" r="4" fill="{ORANGE}"/>')
            note = f"{marker_label}: {marker * 100:.0f}% of accounts hold {held * 100:.0f}% of priority"
            tx = min(x(marker) + 8, left + plot_w - 4)
            body.append(
                _text(
                    tx,
                    y(held) + 18,
                    note,
                    anchor="start" if tx < left + plot_w * 0.45 else "end",
                    fill=INK,
                    size=11,
                )
            )
    return _svg(
        width, height, body, "Concentration of priority: cumulative share of priority by share of accounts"
    )


# ------------------------------------------------------------------------------------------------ histogram
def histogram(
    values: Sequence[float],
    *,
    lo: float = 0.0,
    hi: float = 1.0,
    bins: int = 20,
    color: str = BLUE,
    as_percent: bool = True,
    bands: Sequence[tuple[float, float, str]] = (),
    label: str = "Distribution",
) -> Markup:
    """Counts of `values` in equal bins over [lo, hi]; optional shaded bands (from, to, band name)."""
    width, height, left, right, top, bottom = 340, 150, 34, 18, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    counts, edges = np.histogram(np.clip(data, lo, hi), bins=bins, range=(lo, hi))
    peak = max(int(counts.max()) if len(counts) else 0, 1)
    y_ticks = _ticks(0, peak, 3)
    y_top = y_ticks[-1]

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    body: list[str] = []
    for start, end, name in bands:
        body.append(
            f'<rect x="{_f(x(start))}" y="{top}" width="{_f(x(end) - x(start))}" height="{plot_h}" fill="{BAND_FILL.get(name, "#f4f6f8")}"/>'
        )
    for tick in y_ticks:
        yy = top + plot_h - tick / y_top * plot_h
        body.append(f'<line x1="{left}" y1="{_f(yy)}" x2="{left + plot_w}" y2="{_f(yy)}" stroke="{GRID}"/>')
        body.append(_text(left - 5, yy + 4, f"{tick:,.0f}", anchor="end", fill=MUTED, size=10))
    bw = plot_w / bins
    for i, c in enumerate(counts):
        h = c / y_top * plot_h
        lo_txt, hi_txt = (
            (f"{edges[i] * 100:.0f}%", f"{edges[i + 1] * 100:.0f}%")
            if as_percent
            else (f"{edges[i]:.0f}", f"{edges[i + 1]:.0f}")
        )
        body.append(
            f"<g><title>{escape(lo_txt)}–{escape(hi_txt)}: {int(c):,} accounts</title>"
            f'<rect x="{_f(left + i * bw)}" y="{top}" width="{_f(bw)}" height="{plot_h}" fill="transparent"/>'
        )
        if c:
            body.append(
                f'<rect x="{_f(left + i * bw + 1)}" y="{_f(top + plot_h - h)}" width="{_f(bw - 2)}" height="{_f(h)}" fill="{color}"/>'
            )
        body.append("</g>")
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{AXIS}"/>'
    )
    for tick in np.linspace(lo, hi, 5):
        body.append(
            _text(
                x(tick),
                top + plot_h + 15,
                f"{tick * 100:.0f}%" if as_percent else f"{tick:.0f}",
                anchor="middle",
                fill=MUTED,
                size=10,
            )
        )
    return _svg(width, height, body, label)


# ------------------------------------------------------------------------------------------- score history
def score_history(
    dates: Sequence[str],
    expansion: Sequence[float | None],
    churn: Sequence[float | None],
    priority: Sequence[float | None],
    width: int = 480,
) -> Markup:
    """An account's scores over the stored lists: probabilities as solid lines (left axis, %), priority dashed
    (right axis). `dates` are the lists' as-ofs ('YYYY-MM-DD', oldest first), placed by time; a missing value
    (not scored then) breaks its line. Each as-of carries a tooltip with all three values."""
    height, left, right, top, bottom = 210, 46, 52, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    bottom_y = top + plot_h
    days = [float(np.datetime64(d, "D").astype("int64")) for d in dates]
    first, last = (days[0], days[-1]) if days else (0.0, 0.0)

    def x(day: float) -> float:
        return left + plot_w / 2 if last == first else left + (day - first) / (last - first) * plot_w

    def finite(values: Sequence[float | None]) -> list[float]:
        return [float(v) for v in values if v is not None and math.isfinite(float(v))]

    p_top = _ticks(0.0, max([0.1, *finite(expansion), *finite(churn)]), 4)
    q_top = _ticks(0.0, max([1.0, *finite(priority)]), 4)
    p_max, q_max = p_top[-1], q_top[-1]
    body: list[str] = []
    for tick, label in zip(p_top, _percent_labels(p_top), strict=True):
        y = bottom_y - tick / p_max * plot_h
        body.append(f'<line x1="{left}" y1="{_f(y)}" x2="{left + plot_w}" y2="{_f(y)}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, label, anchor="end", fill=MUTED, size=11))
    for tick in q_top:
        y = bottom_y - tick / q_max * plot_h
        body.append(_text(left + plot_w + 6, y + 4, money_short(tick), fill=BLUE, size=11))
    body.append(f'<line x1="{left}" y1="{bottom_y}" x2="{left + plot_w}" y2="{bottom_y}" stroke="{AXIS}"/>')
    labelled: list[int] = []  # at most six dates, never overlapping; the latest list is always labelled
    for i in _label_positions(len(dates), 6):
        if labelled and x(days[i]) - x(days[labelled[-1]]) < 72:
            if i == len(dates) - 1:
                labelled[-1] = i
            continue
        labelled.append(i)
    for i in labelled:
        body.append(
            _text(x(days[i]), bottom_y + 16, _date_label(dates[i]), anchor="middle", fill=MUTED, size=11)
        )
    series = (
        (expansion, lambda v: bottom_y - v / p_max * plot_h, GREEN, ""),
        (churn, lambda v: bottom_y - v / p_max * plot_h, RED, ""),
        (priority, lambda v: bottom_y - v / q_max * plot_h, BLUE, ' stroke-dasharray="5 3"'),
    )
    for values, y_of, color, dash in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for day, value in zip(days, values, strict=True):
            if value is None or not math.isfinite(float(value)):
                runs.append([])
                continue
            runs[-1].append((x(day), y_of(float(value))))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{_f(px)},{_f(py)}" for px, py in run)
                body.append(
                    f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" '
                    f'stroke-linejoin="round"{dash}/>'
                )
        if len(days) <= 60:
            body.extend(
                f'<circle cx="{_f(px)}" cy="{_f(py)}" r="3" fill="{color}"/>'
                for run in runs
                for px, py in run
            )
    slot = plot_w / max(len(days) - 1, 1)
    for i, day in enumerate(days):
        tip = (
            f"{dates[i]}: expansion {_pct(expansion[i])}, churn {_pct(churn[i])}, "
            f"priority {_number(priority[i])}"
        )
        x0 = max(left, x(day) - slot / 2)
        x1 = min(left + plot_w, x(day) + slot / 2) if len(days) > 1 else left + plot_w
        body.append(
            f'<g><title>{escape(tip)}</title><rect x="{_f(x0)}" y="{top}" width="{_f(max(x1 - x0, 4.0))}" '
            f'height="{plot_h}" fill="transparent"/></g>'
        )
    return _svg(
        width, height, body, "Score history: expansion and churn probability, priority", "chart stretch"
    )


def _label_positions(n: int, most: int) -> list[int]:
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _date_label(day: str) -> str:
    """'2025-02-01' -> '1 Feb 2025'."""
    year, month, dom = day[:4], int(day[5:7]), int(day[8:10])
    return f"{dom} {MONTHS[month - 1]} {year}"


def _pct(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(float(value)) else f"{float(value) * 100:.1f}%"


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):,.0f}" if abs(float(value)) >= 100 else f"{float(value):,.2f}"
