"""The binned profiles of a workspace's runs: one partition per as-of under W/history/profiles.parquet.

Every `rank` stores the profile of its features and scores (`potential.scoring.drift.bin_profile`: the bins of
each column and their shares, never the accounts' values) as `as_of=YYYY-MM-DD/part-0.parquet`, so the next
run can measure how far its own values drifted. Ranking the same as-of again replaces that partition. Each
partition is written to a temporary file and renamed, like every output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from potential.data.io import atomic_path


def profiles_folder(workspace: Path) -> Path:
    return Path(workspace) / "history" / "profiles.parquet"


def write_profile(profile: pd.DataFrame, workspace: Path, as_of: str) -> Path:
    """Store the profile of `as_of` (replacing an earlier one of the same as-of); the partition path."""
    path = profiles_folder(workspace) / f"as_of={as_of}" / "part-0.parquet"
    with atomic_path(path) as tmp:
        profile.reset_index(drop=True).to_parquet(tmp, index=False)
    return path


def profile_as_ofs(workspace: Path) -> list[str]:
    """The as-of dates with a stored profile, oldest first."""
    folder = profiles_folder(workspace)
    if not folder.is_dir():
        return []
    return sorted(
        p.name.removeprefix("as_of=") for p in folder.glob("as_of=*") if (p / "part-0.parquet").exists()
    )


def previous_profile(workspace: Path, as_of: str) -> tuple[str, pd.DataFrame] | None:
    """The latest stored profile before `as_of` and its as-of, if any."""
    earlier = [d for d in profile_as_ofs(workspace) if d < as_of]
    if not earlier:
        return None
    return earlier[-1], pd.read_parquet(
        profiles_folder(workspace) / f"as_of={earlier[-1]}" / "part-0.parquet"
    )
