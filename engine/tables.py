"""Read the user's tables (CSV, TSV, XLSX) with messages that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


class TableError(ValueError):
    """A table cannot be read or lacks a column the caller needs."""


def separator_for(path: Path) -> str:
    return "\t" if path.suffix.lower() in (".tsv", ".txt") else ","


def read_table(path: str | Path, *, encoding: str | None = None, nrows: int | None = None) -> pd.DataFrame:
    """The whole table (or its first `nrows`) as strings; empty cells become "".

    UTF-8 (with or without BOM) unless `encoding` says otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"No file at `{path}`.")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise TableError(f"`{path.name}`: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}.")
    try:
        if suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, nrows=nrows)
        else:
            frame = pd.read_csv(
                path,
                sep=separator_for(path),
                dtype=str,
                keep_default_na=False,
                encoding=encoding or "utf-8-sig",
                nrows=nrows,
            )
    except UnicodeDecodeError as error:
        raise TableError(
            f"`{path.name}` is not valid {encoding or 'UTF-8'} text (byte {error.start}). Save it as "
            "UTF-8, or name its encoding (e.g. --encoding latin-1)."
        ) from error
    except pd.errors.EmptyDataError as error:
        raise TableError(f"`{path.name}` is empty: it has no header row and no data.") from error
    except (pd.errors.ParserError, ValueError) as error:
        raise TableError(f"`{path.name}` could not be parsed as a table ({error}).") from error
    return frame.fillna("")


def check_columns(frame: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    """Raise TableError naming the columns found when any of `columns` is missing."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise TableError(
            f"`{Path(path).name}` has no column {missing[0]!r}; columns found: {found}."
        )
