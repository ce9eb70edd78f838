"""Profile attributes as features: text columns become categories on levels fixed for the whole table."""

from __future__ import annotations

import pandas as pd

from potential.features.profile import category_levels, profile_features

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
