"""Line-item exports (docs/data-conventions.md "Line-item exports"): a wholesaler's invoice lines with a
quantity and a unit price but no amount, invoice numbers, C-prefixed cancellations and timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.config import Config, ConfigError, DataConfig, load_config
from potential.data.schema import load_dataset
from potential.errors import InputError
from potential.features.history import TransactionArrays, average_deal, deal_sums, history_features
from tests.cli_helpers import run_cli

COLUMNS = {
    "account_id": "CustomerID",
    "date": "InvoiceDate",
    "order_id": "InvoiceNo",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
    "product": "StockCode",
}
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
# spreadsheet rows 2..12 (the header is row 1)
LINES = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,8,12/1/2010 8:26,3.39,17850,United Kingdom",
    "536365,84406B,CREAM CUPID HEARTS COAT HANGER,2,12/1/2010 8:26,7.65,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom",
    "536366,22632,HAND WARMER RED POLKA DOT,6,12/1/2010 8:28,1.85,17850,United Kingdom",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom",
    "536367,22745,POPPY'S PLAYHOUSE BEDROOM,6,12/1/2010 8:34,2.10,13047,United Kingdom",
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,17850,United Kingdom",
    "536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,,France",
    "536368,22960,JAM MAKING SET WITH JARS,3,12/13/2010 10:00,4.95,13047,United Kingdom",
    # a cancellation exported with a positive quantity: the C says it is a return
    "C536400,22960,JAM MAKING SET WITH JARS,2,12/14/2010 11:02,4.95,13047,United Kingdom",
    "536371,22086,PAPER CHAIN KIT 50'S CHRISTMAS,80,12/1/2010 9:00,2.55,,United Kingdom",
]
AS_OF = pd.Timestamp("2010-12-20")


def config(**data) -> DataConfig:
    return DataConfig(**{"columns": {"transactions": COLUMNS}, "cancellation_prefix": "C", **data})


def write(folder: Path, lines: list[str], header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transactions.csv").write_text("\n".join([header, *lines]) + "\n")
    return folder


def with_customers(lines: list[str]) -> list[str]:
    """The export without the lines that name no customer (what the refusal asks the user to do)."""
    return [line for line in lines if line.split(",")[6]]


def test_blank_customer_ids_are_left_out_and_counted(tmp_path):
    """Lines without a customer (walk-in sales) belong to no account to rank: left out by default
    (data.blank_ids: drop), with a note naming how many and the file's rows."""
    ds = load_dataset(write(tmp_path / "d", LINES), config())
    kept = load_dataset(write(tmp_path / "e", with_customers(LINES)), config())
    pd.testing.assert_frame_equal(ds.transactions, kept.transactions)
    note = next(n for n in ds.notes if "without an account id" in n)
    assert note.startswith("transactions.csv: left out 2 row(s) without an account id (rows 10, 13);")


def test_blank_customer_ids_are_refused_with_the_rows_when_asked(tmp_path):
    folder = write(tmp_path / "d", LINES)
    with pytest.raises(InputError) as caught:
        load_dataset(folder, config(blank_ids="refuse"))
    message = str(caught.value)
    assert message.startswith(
        "transactions.csv: column 'CustomerID' (read as 'account_id') has 2 empty id(s)"
    )
    assert "(rows 10, 13)" in message
    assert "set data.blank_ids: drop" in message and "data.columns.transactions.account_id" in message


def test_blank_customer_ids_exit_2_from_the_cli_when_refused(tmp_path, capsys):
    folder = write(tmp_path / "d", LINES)
    path = tmp_path / "wholesale.yaml"
    path.write_text(
        "data:\n  blank_ids: refuse\n  cancellation_prefix: C\n  columns:\n    transactions: {"
        + ", ".join(f"{ours}: {theirs}" for ours, theirs in COLUMNS.items())
        + "}\n"
    )
    code, _out, err = run_cli(["validate", "--data", folder, "--config", path], capsys)
    assert code == 2
    assert "2 empty id(s) in 12 row(s) (rows 10, 13)" in err


def test_amounts_are_quantity_times_unit_price_and_cancellations_are_returns(tmp_path):
    ds = load_dataset(write(tmp_path / "d", with_customers(LINES)), config())
    tx = ds.transactions
    by_order = tx.groupby("order_id")["amount"].sum().round(2).to_dict()
    assert by_order == {
        "536365": 57.72,  # 6 x 2.55 + 8 x 3.39 + 2 x 7.65
        "536366": 22.20,
        "536367": 66.68,  # 32 x 1.69 + 6 x 2.10
        "536368": 14.85,
        "C536379": -27.50,  # a negative quantity
        "C536400": -9.90,  # written as +2, cancelled by its C
    }
    assert tx.groupby("account_id")["amount"].sum().round(2).to_dict() == {"13047": 71.63, "17850": 52.42}
    assert tx["date"].min() == pd.Timestamp("2010-12-01 08:26")  # timestamps kept, month-first settled
    notes = "\n".join(ds.notes)
    assert "no amount column; each line's amount is quantity x unit_price" in notes
    assert "2 line(s) on 2 cancelling order(s) (order ids starting with 'C'" in notes
    assert "1 line(s) with a negative quantity or a cancelling order id but a positive" in notes


def test_orders_count_distinct_invoices_not_lines(tmp_path):
    ds = load_dataset(write(tmp_path / "d", with_customers(LINES)), config())
    index = pd.Index(["13047", "17850"], name="account_id")
    features = history_features(TransactionArrays.build(ds.transactions, index), AS_OF, (30,))
    # 17850: invoices 536365 (3 lines) and 536366 (2 lines) on one day, and a cancellation (not an order)
    # 13047: 536367 (2 lines) and 536368 (1 line) on two days, and a cancellation
    assert features["orders_30d"].tolist() == [2.0, 2.0]
    assert features["purchase_days_30d"].tolist() == [2.0, 1.0]
    assert features["avg_deal_365d"].tolist() == pytest.approx([(66.68 + 14.85) / 2, (57.72 + 22.20) / 2])
    # the portfolio's average deal is per order too: 4 purchase invoices worth 161.45
    assert average_deal(deal_sums(TransactionArrays.build(ds.transactions, index), AS_OF)) == pytest.approx(
        (57.72 + 22.20 + 66.68 + 14.85) / 4
    )
    # without order ids every purchase line is one order
    lines = history_features(
        TransactionArrays.build(ds.transactions.drop(columns="order_id"), index), AS_OF, (30,)
    )
    assert lines["orders_30d"].tolist() == [3.0, 5.0]


def test_blank_order_ids_are_orders_of_their_own(tmp_path):
    lines = [
        ",A,x,1,2010-12-01,10,17850,UK",
        ",B,x,1,2010-12-01,10,17850,UK",
        "536365,C,x,1,2010-12-01,10,17850,UK",
        "536365,D,x,1,2010-12-01,10,17850,UK",
    ]
    ds = load_dataset(write(tmp_path / "d", lines), config())
    arr = TransactionArrays.build(ds.transactions, pd.Index(["17850"], name="account_id"))
    assert history_features(arr, AS_OF, (30,))["orders_30d"].tolist() == [3.0]


def test_amount_wins_over_quantity_and_unit_price(tmp_path):
    header = HEADER + ",Total"
    lines = [
        "536365,85123A,x,6,12/1/2010 8:26,2.55,17850,UK,15.00",  # 6 x 2.55 would be 15.30
        "536366,22633,x,-2,12/2/2010 8:28,1.85,17850,UK,3.70",  # a return written with a positive total
        "536367,22633,x,1,12/13/2010 8:28,1.85,17850,UK,1.85",
    ]
    folder = write(tmp_path / "d", lines, header)
    ds = load_dataset(folder, DataConfig(columns={"transactions": {**COLUMNS, "amount": "Total"}}))
    assert ds.transactions["amount"].tolist() == [15.00, -3.70, 1.85]
    notes = "\n".join(ds.notes)
    assert "has both 'amount' and 'unit_price'; 'amount' is each line's value" in notes
    assert "1 line(s) with a negative quantity but a positive amount count as returns" in notes


@pytest.mark.parametrize(
    ("line", "match"),
    [
        (
            "536366,22633,x,6,12/1/2010 8:28,n/a,17850,UK",
            r"^transactions.csv: column 'UnitPrice' \(read as 'unit_price'\) has 1 non-numeric value\(s\) "
            r"\(rows 3, e.g. 'n/a'\); .*data.columns.transactions.unit_price",
        ),
        (
            "536366,22633,x,six,12/1/2010 8:28,1.85,17850,UK",
            r"^transactions.csv: column 'Quantity' \(read as 'quantity'\) has 1 non-numeric value\(s\) "
            r"\(rows 3, e.g. 'six'\); .*data.columns.transactions.quantity",
        ),
        (
            "536366,22633,x,,12/1/2010 8:28,1.85,17850,UK",
            r"column 'Quantity' \(read as 'quantity'\) has 1 empty value\(s\) \(rows 3\); .*quantity x unit_price",
        ),
    ],
)
def test_bad_quantity_or_unit_price_names_file_column_rows_and_key(tmp_path, line, match):
    lines = [LINES[0], line, LINES[9]]  # 12/13/2010 settles month-first
    with pytest.raises(InputError, match=match):
        load_dataset(write(tmp_path / "d", lines), config())


def test_quantity_without_unit_price_or_amount_is_refused(tmp_path):
    """The unit price under a name that is not ours however written ('Price'), and not mapped."""
    columns = {k: v for k, v in COLUMNS.items() if k != "unit_price"}
    with pytest.raises(
        InputError, match=r"no 'amount' column.*'unit_price' is missing.*transactions.unit_price"
    ):
        load_dataset(
            write(tmp_path / "d", with_customers(LINES), HEADER.replace("UnitPrice", "Price")),
            DataConfig(columns={"transactions": columns}),
        )


def test_our_column_names_written_otherwise_are_read_without_a_setting(tmp_path):
    """'UnitPrice', 'Quantity' and 'Customer_ID'-style names are ours written otherwise: read with a note,
    the same as when data.columns maps them."""
    lines = with_customers(LINES)
    mapped = load_dataset(write(tmp_path / "a", lines), config())
    header = HEADER.replace("CustomerID", "Account ID").replace("InvoiceNo", "Order_Id")
    columns = {"date": "InvoiceDate", "product": "StockCode"}
    ds = load_dataset(
        write(tmp_path / "b", lines, header),
        DataConfig(columns={"transactions": columns}, cancellation_prefix="C"),
    )
    pd.testing.assert_frame_equal(ds.transactions, mapped.transactions)
    assert (
        "transactions.csv: read 'Account ID' as account_id, 'Quantity' as quantity, 'UnitPrice' as "
        "unit_price, 'Order_Id' as order_id (our names, written otherwise; data.columns.transactions maps "
        "columns by name)." in ds.notes
    )


def test_cancellation_prefix_needs_an_order_id(tmp_path):
    columns = {k: v for k, v in COLUMNS.items() if k != "order_id"}
    with pytest.raises(
        InputError, match=r"data.cancellation_prefix is 'C'.*data.columns.transactions.order_id"
    ):
        load_dataset(
            write(tmp_path / "d", with_customers(LINES)),
            DataConfig(columns={"transactions": columns}, cancellation_prefix="C"),
        )


def test_a_prefix_no_order_carries_is_noted(tmp_path):
    ds = load_dataset(write(tmp_path / "d", with_customers(LINES)), config(cancellation_prefix="X"))
    assert any("no order id starts with 'X'" in note for note in ds.notes)
    # C536379 keeps its negative quantity; C536400 (+2) is a purchase when the prefix is not 'C'
    assert ds.transactions.groupby("order_id")["amount"].sum().round(2)["C536400"] == 9.90


def test_empty_prefix_is_a_config_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  cancellation_prefix: ''\n")
    with pytest.raises(ConfigError, match="cancellation_prefix"):
        load_config(path)
    assert Config().data.cancellation_prefix is None


def test_plain_transactions_are_read_as_before(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "transactions.csv").write_text(
        "account_id,date,amount,quantity\na,2024-01-05,100,2\na,2024-02-05,-20,1\nb,2024-01-07,50,1\n"
    )
    ds = load_dataset(folder, DataConfig())
    assert ds.transactions["amount"].tolist() == [100.0, 50.0, -20.0]
    assert not any("quantity" in note for note in ds.notes)
    arr = TransactionArrays.build(ds.transactions, pd.Index(["a", "b"], name="account_id"))
    assert arr.order_code is None
    np.testing.assert_array_equal(
        history_features(arr, pd.Timestamp("2024-03-01"), (90,))["orders_90d"], [1, 1]
    )


@pytest.mark.dask
def test_the_dask_engine_reads_line_items_like_the_pandas_engine(tmp_path):
    from potential.engines import dask_engine
    from potential.features.build import build_features

    rng = np.random.default_rng(3)
    lines = []
    for invoice in range(300):
        customer = 12000 + int(rng.integers(0, 30))
        when = pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=int(rng.integers(0, 500 * 24 * 60)))
        cancel = rng.random() < 0.08
        for _ in range(int(rng.integers(1, 6))):
            quantity = int(rng.integers(1, 30)) * (-1 if cancel else 1)
            lines.append(
                f"{'C' if cancel else ''}{500000 + invoice},P{int(rng.integers(0, 40))},x,{quantity},"
                f"{when:%m/%d/%Y %H:%M},{rng.uniform(0.5, 20):.2f},{customer},UK"
            )
    folder = write(tmp_path / "d", lines)
    config = Config().with_overrides(
        {"data.columns": {"transactions": COLUMNS}, "data.cancellation_prefix": "C"}
    )
    as_of = pd.Timestamp("2025-06-01")
    expected = build_features(load_dataset(folder, config.data), as_of, config.features).reset_index()
    with dask_engine.session():
        for buckets in (1, 3):
            got = dask_engine.load(folder, config, buckets=buckets)
            got = dask_engine.features(got, [as_of], as_of, config).compute().drop(columns="cutoff")
            got = got.sort_values("account_id", ignore_index=True)[list(expected.columns)]
            pd.testing.assert_frame_equal(
                expected.sort_values("account_id", ignore_index=True), got, check_exact=False, rtol=1e-9
            )


def test_a_missing_column_refusal_suggests_a_column_map_that_reads_the_export(tmp_path):
    """Online Retail II's header: nothing read without a setting but 'Quantity'; the refusal suggests the
    whole data.columns entry from the names exports usually use ('Price' beside a quantity is the unit
    price), and that entry, as suggested, reads the file."""
    header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
    lines = [
        "489434,85048,GLASS BALL,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom",
        "C489449,22087,PAPER BUNTING,-12,2009-12-01 10:33:00,2.95,16321.0,Australia",
    ]
    folder = write(tmp_path / "d", lines, header)
    suggested = (
        "data.columns: {transactions: {account_id: 'Customer ID', date: InvoiceDate, product: StockCode, "
        "order_id: Invoice, unit_price: Price}}"
    )
    with pytest.raises(InputError) as refusal:
        load_dataset(folder, DataConfig())
    assert f"e.g. {suggested} (from the names found: check them)." in str(refusal.value)
    (tmp_path / "c.yaml").write_text(suggested.replace("data.columns: ", "data:\n  columns: ") + "\n")
    ds = load_dataset(folder, load_config(tmp_path / "c.yaml").data)
    assert ds.transactions["amount"].round(2).tolist() == [83.4, -35.4]
    assert ds.transactions["account_id"].astype(str).tolist() == ["13085.0", "16321.0"]


def test_no_suggestion_when_no_name_is_a_usual_one(tmp_path):
    folder = write(tmp_path / "d", ["1,2,3"], "alpha,beta,gamma")
    with pytest.raises(InputError) as refusal:
        load_dataset(folder, DataConfig())
    assert "required column 'account_id' is missing" in str(refusal.value) and "e.g." not in str(
        refusal.value
    )
