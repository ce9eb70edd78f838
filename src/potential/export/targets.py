"""The ranked target list in CSV / XLSX / Parquet: one declaration of the contract columns, safe cells, lineage.

CSV policy (OWASP "CSV injection"): a text cell that starts with =, +, -, @, tab or carriage return is prefixed
with a single quote so spreadsheet programs show it as text. In XLSX every text cell is written as a string
cell (never a formula), so the text is kept as it is. Numbers are never altered.
"""

from __future__ import annotations

import io as _io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from potential.data.io import atomic_path, write_bytes, write_text
from potential.scoring.explain import REASON_COLUMNS, REASON_SLOTS

TARGET_COLUMNS: tuple[str, ...] = (
    "rank",
    "account_id",
    "account_name",
    "tier",
    "action",
    "priority_score",
    "expansion_probability",
    "expected_uplift",
    "churn_probability",
    "revenue_at_risk",
    "rating_score",
    "rating_grade",
    "high_value",
    "reasons",
    "as_of",
    "model_version",
)
EXTRA_COLUMNS: tuple[str, ...] = (
    *REASON_COLUMNS,  # reason_<i>, reason_<i>_points, reason_<i>_source, reason_<i>_target: `reasons` split
    "action_rule",
    "status",
    "is_prospect",
    "industry",
    "region",
    "spend_365d",
    "potential_spend_365d",
    "potential_multiple",
    "peer_spend_percentile",
    "peer_gap_to_p75",
    "rating_unknown",
    "previous_rank",
    "rank_delta",
    "new_entrant",
    "previous_tier",
    "tier_change",
)
FORMATS = ("csv", "xlsx", "parquet")
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TIER_FILLS = {"A": "C6EFCE", "B": "FFEB9C", "C": "F2F2F2"}


def order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"ranked frame lacks contract columns: {missing}")
    extras = [c for c in EXTRA_COLUMNS if c in frame.columns]
    return frame[list(TARGET_COLUMNS) + extras]


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _safe_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return _safe_text(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_targets_like(frame: pd.DataFrame, path: Path) -> Path:
    """Another CSV export (e.g. changes.csv) with the target list's safety: formula-like text neutralised."""
    return write_bytes(path, to_csv_bytes(frame))


def write_targets(frame: pd.DataFrame, path: Path, fmt: str, lineage: dict[str, object]) -> Path:
    frame = order_columns(frame)
    if fmt == "csv":
        return write_bytes(path, to_csv_bytes(frame))
    if fmt == "parquet":
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        return path
    if fmt == "xlsx":
        return write_bytes(path, xlsx_bytes(frame, lineage))
    raise ValueError(f"unknown format {fmt}")


def xlsx_bytes(frame: pd.DataFrame, lineage: dict[str, object]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "targets"
    ws.append(list(frame.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    tier_col = list(frame.columns).index("tier") + 1
    for row in frame.itertuples(index=False):
        values = []
        for value in row:
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                values.append(None)
            elif isinstance(value, np.generic):
                values.append(value.item())
            else:
                values.append(value)
        ws.append(values)
    for r, row in enumerate(ws.iter_rows(min_row=2), start=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text: a value like "=1+1" can never become a formula
        fill = TIER_FILLS.get(str(ws.cell(r, tier_col).value))
        if fill:
            ws.cell(r, tier_col).fill = PatternFill("solid", start_color=fill, end_color=fill)
    widths = {"reasons": 90, "account_name": 32, "action_rule": 60}
    widths.update({f"reason_{i}": 48 for i in range(1, REASON_SLOTS + 1)})
    for i, column in enumerate(frame.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(
            column, max(10, min(24, len(column) + 2))
        )
        if column == "reasons":
            for cell in ws[get_column_letter(i)][1:]:
                cell.alignment = Alignment(wrap_text=False)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    meta = wb.create_sheet("lineage")
    meta.append(["key", "value"])
    for key, value in lineage.items():
        meta.append(
            [str(key), json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)]
        )
        meta.cell(meta.max_row, 2).data_type = "s"
    meta.column_dimensions["A"].width = 24
    meta.column_dimensions["B"].width = 100
    buffer = _io.BytesIO()
    wb.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite the xlsx zip with fixed timestamps and creation date so reruns are byte-identical."""
    import re
    import zipfile

    src = zipfile.ZipFile(_io.BytesIO(data))
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"<dcterms:(created|modified)([^>]*)>[^<]*<",
                    rb"<dcterms:\1\2>2000-01-01T00:00:00Z<",
                    content,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, content)
    return out.getvalue()


def write_manifest(path: Path, manifest: dict[str, object]) -> Path:
    return write_text(path, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def filter_targets(
    frame: pd.DataFrame, top: int | None, tiers: list[str] | None, actions: list[str] | None
) -> pd.DataFrame:
    out = frame
    if tiers:
        out = out[out["tier"].isin(tiers)]
    if actions:
        wanted = {a.lower() for a in actions}
        out = out[out["action"].str.lower().isin(wanted)]
    if top is not None:
        out = out.head(top)
    return out


TEXT_COLUMNS = (
    "account_name",
    "reasons",
    *(c for c in REASON_COLUMNS if not c.endswith("_points")),
    "tier",
    "action",
    "action_rule",
    "industry",
    "region",
)


def read_targets(path: Path) -> pd.DataFrame:
    """A target list written by `write_targets`, in any format, as the frame that was written.

    Text that was neutralised for spreadsheets (a leading quote before =, +, -, @) is read back as it was.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".xlsx":  # text cells were written as text, never neutralised
        frame = pd.read_excel(path, sheet_name="targets", dtype={"account_id": str}, engine="openpyxl")
        restore = str
    else:
        frame = pd.read_csv(path, dtype={"account_id": str}, keep_default_na=False, na_values=[""])
        restore = _restore
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].fillna("").astype(str).map(restore)
    return frame


def _restore(value: str) -> str:
    return value[1:] if value.startswith("'") and len(value) > 1 and value[1] in DANGEROUS_PREFIXES else value
