"""Profile attributes as features: text columns become categories on levels fixed for the whole table."""

from __future__ import annotations

import pandas as pd

from potential.features.profile import category_levels, profile_features, unused_text_notes

AS_OF = pd.Timestamp("2024-07-01")


def test_text_levels_and_categories_by_hand():
    accounts = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(8)],
            "region": ["north", "south", None, "north", "south", "north", "north", "south"],
            # equal as numbers, different as text: each is its own level, as str() writes it
            "tier": pd.Series([1, 1.0, "1", "gold", None, "gold", "gold", 1], dtype=object),
        }
    )
    levels = category_levels(accounts)
    assert levels == {"region": ("north", "south"), "tier": ("1", "1.0", "gold")}
    out = profile_features(accounts, AS_OF, levels)
    assert out["region"].cat.codes.tolist() == [0, 1, -1, 0, 1, 0, 0, 1]
    assert out["tier"].cat.codes.tolist() == [0, 1, 0, 2, -1, 2, 2, 0]
    assert list(out["tier"].cat.categories) == ["1", "1.0", "gold"]
    restricted = profile_features(accounts, AS_OF, {"region": ("south",)})
    assert restricted["region"].cat.codes.tolist() == [-1, 0, -1, -1, 0, -1, -1, 0]  # off the levels: NaN
    assert "tier" not in restricted.columns


def test_budget_season_from_the_fiscal_year_start_or_end():
    """Numbers, month names and abbreviations all give the month of the account's budget year."""
    starts = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e", "f"],
            "fiscal_year_start": ["April", "oct", None, "7", "13", "July"],
        }
    )
    months = profile_features(starts, pd.Timestamp("2025-05-10"))["months_into_fiscal_year"]
    # May is the 2nd month of an April year, the 8th of an October year, the 11th of a July year
    assert months.tolist()[:2] == [1.0, 7.0] and months["d"] == 10.0 and months["f"] == 10.0
    assert months[["c", "e"]].isna().all()  # blank or not a month: unknown, never a guess
    ends = pd.DataFrame({"account_id": ["a", "b"], "fiscal_year_end": pd.array([3, 12], dtype="Int64")})
    # a year ending in March starts in April; one ending in December starts in January
    april = profile_features(ends, pd.Timestamp("2025-04-01"))
    assert april["months_into_fiscal_year"].tolist() == [0.0, 3.0]
    assert "months_into_fiscal_year" not in profile_features(ends[["account_id"]], AS_OF).columns


def test_text_no_model_can_use_is_named_in_a_note():
    """A surname column (a bank churn export) is left out of the features: the note says so and why; a
    category, a number and the account's name get none."""
    n = 300
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "account_name": [f"Firm {i}" for i in range(n)],
            "Surname": [f"Name{i % 250}" for i in range(n)],
            "Geography": ["France", "Spain", "Germany"] * (n // 3),
            "Balance": [float(i) for i in range(n)],
        }
    )
    assert "Surname" not in category_levels(accounts)
    assert unused_text_notes(accounts, "churn.csv") == [
        "churn.csv: column 'Surname' is text with 250 different values in 300 rows, too many to be a category "
        "(at most 100, and fewer than half the rows), so no model uses it."
    ]
