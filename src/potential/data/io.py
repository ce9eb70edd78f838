"""Reading and writing files. Every output is written atomically: temp file in the same folder, then rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from potential.errors import InputError

TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".tsv")  # a table's file, or the part files of its folder
# a table's own file may also be .txt: Excel saves "Text (Tab delimited)" so (never a part: a folder of
# parts can hold a readme), or an Excel workbook (never a part either: exports come as one workbook)
WORKBOOK_SUFFIX = ".xlsx"
FILE_SUFFIXES = (*TABLE_SUFFIXES, ".txt", WORKBOOK_SUFFIX)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{path.parent}: cannot create the output folder ({exc.strerror}); choose a writable --out."
        ) from exc
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(
            f"{path.parent}: the output folder is not writable ({exc.strerror}); choose a writable --out."
        ) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        swap_into(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def swap_into(new: Path, path: Path) -> None:
    """Put `new` (a file or a folder of parts) at `path` in one rename, whatever `path` held before."""
    if path.is_dir() or (new.is_dir() and path.exists()):
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(new, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, path)


def write_text(path: Path | str, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: Path | str, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_table(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a frame as CSV or Parquet (by suffix), atomically, without the index."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            raise ValueError(f"unsupported table format: {path.suffix}")
    return path


def file_digest(path: Path | str) -> str:
    """sha256 of a file's bytes, or of a partitioned table's parts in order (lineage of inputs)."""
    digest = hashlib.sha256()
    path = Path(path)
    for part in table_parts(path):
        if path.is_dir():
            digest.update(str(part.relative_to(path)).encode())
        with open(part, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def table_parts(path: Path) -> list[Path]:
    """The files of a table: the file itself, or the part files of a folder (`transactions/part-0.parquet`)."""
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TABLE_SUFFIXES))
    kinds = {p.name[len(p.stem) :] if p.name.endswith(".csv.gz") else p.suffix for p in files}
    if not files or len(kinds) > 1:
        found = ", ".join(sorted(kinds)) or "no .parquet or .csv files"
        raise InputError(
            f"{path}: a table folder needs part files of one kind (.parquet or .csv); found {found}."
        )
    return files


def table_stem(name: str) -> str | None:
    """The table name a file name gives (`orders` for orders.csv.gz); None when it is no table file."""
    suffix = next((suffix for suffix in FILE_SUFFIXES if name.endswith(suffix)), None)
    return None if suffix is None else name[: -len(suffix)]


def find_table(folder: Path, stem: str) -> Path | None:
    """The file (or folder of part files) holding table `stem` in `folder`: stem.parquet, stem.csv, stem/, ..."""
    candidates = [folder / f"{stem}{suffix}" for suffix in FILE_SUFFIXES] + [folder / stem]
    matches = [p for p in candidates if p.exists() and (p.is_dir() or p != folder / stem)]
    if len(matches) > 1:
        names = ", ".join(p.name for p in matches)
        raise InputError(f"{folder}: table '{stem}' is there twice ({names}); keep one of them.")
    return matches[0] if matches else None
