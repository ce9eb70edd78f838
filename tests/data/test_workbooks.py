"""Excel workbooks as a table's file: sheets read as text and typed like CSV cells."""

from __future__ import annotations

import pandas as pd
import pytest

from potential.config import DataConfig
from potential.data.schema import load_dataset
from potential.errors import InputError

YEAR_1 = pd.DataFrame(
    {
        "Invoice": ["489434", "489435"],
        "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 07:46"]),
        "Quantity": [12, 3],
        "Price": [6.95, 1.25],
        "Customer ID": [13085.0, 13086.0],
    }
)
YEAR_2 = YEAR_1.assign(
    Invoice=["539993", "C540000"],
    InvoiceDate=pd.to_datetime(["2011-01-04 10:00", "2011-01-05 09:30"]),
    Quantity=[10, -3],
)
COLUMNS = {
    "transactions": {
        "account_id": "Customer ID",
        "date": "InvoiceDate",
        "order_id": "Invoice",
        "unit_price": "Price",
    }
}


def _workbook(path, sheets: dict[str, pd.DataFrame], header: bool = True):
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path) as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False, header=header)
    return path.parent


def test_a_workbook_reads_like_the_csv_of_its_sheets_with_the_same_header(tmp_path):
    """Online Retail II ships one sheet per year: both are the table; a notes sheet is left out, noted."""
    notes_sheet = pd.DataFrame({"About": ["exported from the shop system"]})
    folder = _workbook(
        tmp_path / "x" / "transactions.xlsx",
        {"Year 2009-2010": YEAR_1, "Year 2010-2011": YEAR_2, "Notes": notes_sheet, "Blank": pd.DataFrame()},
    )
    csv = tmp_path / "c"
    csv.mkdir()
    both = pd.concat([YEAR_1, YEAR_2], ignore_index=True)
    both.assign(**{"Customer ID": both["Customer ID"].astype(int)}).to_csv(
        csv / "transactions.csv", index=False
    )
    config = DataConfig(columns=COLUMNS)
    ds = load_dataset(folder, config)
    pd.testing.assert_frame_equal(ds.transactions, load_dataset(csv, config).transactions)
    assert ds.transactions["amount"].round(2).tolist() == [83.4, 3.75, 69.5, -3.75]
    assert "transactions.xlsx: read the sheets 'Year 2009-2010', 'Year 2010-2011' as one table." in ds.notes
    assert (
        "transactions.xlsx: sheet(s) 'Notes' not read: their header is not the one of sheet 'Year 2009-2010'."
        in ds.notes
    )


def test_a_workbook_value_is_refused_by_its_row_and_a_sheet_without_header_maps_by_position(tmp_path):
    bad = YEAR_1.astype({"Price": object})
    bad.loc[1, "Price"] = "n/a"
    folder = _workbook(tmp_path / "bad" / "transactions.xlsx", {"Sheet1": bad})
    with pytest.raises(
        InputError, match=r"transactions.xlsx: column 'Price' \(read as 'unit_price'\).*rows 3"
    ):
        load_dataset(folder, DataConfig(columns=COLUMNS))
    folder = _workbook(tmp_path / "bare" / "transactions.xlsx", {"Sheet1": YEAR_1}, header=False)
    positions = {
        "account_id": "column_5",
        "date": "column_2",
        "quantity": "column_3",
        "unit_price": "column_4",
    }
    ds = load_dataset(folder, DataConfig(header=False, columns={"transactions": positions}))
    assert ds.transactions["amount"].round(2).tolist() == [83.4, 3.75]


def test_a_file_named_xlsx_that_is_no_workbook_is_refused_with_the_fix(tmp_path):
    (tmp_path / "transactions.xlsx").write_text(
        "account_id,date,amount\nA1,2024-01-05,10\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"transactions.xlsx: not an Excel workbook \(.xlsx\); .*CSV UTF-8"):
        load_dataset(tmp_path, DataConfig())


def test_a_workbook_with_a_header_and_no_rows_is_refused(tmp_path):
    folder = _workbook(tmp_path / "empty" / "transactions.xlsx", {"Sheet1": YEAR_1.head(0)})
    with pytest.raises(InputError, match=r"transactions.xlsx: has a header but no rows"):
        load_dataset(folder, DataConfig(columns=COLUMNS))
