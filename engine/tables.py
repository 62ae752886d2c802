"""Read the user's tables (CSV, TSV, XLSX) with messages that say what to fix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")


class TableError(ValueError):
    """A table cannot be read or lacks a column the caller needs."""


def separator_for(path: Path) -> str:
    return "\t" if path.suffix.lower() in (".tsv", ".txt") else ","


def read_table(
    path: str | Path, *, encoding: str | None = None, nrows: int | None = None
) -> pd.DataFrame:
    """The whole table (or its first `nrows`) as strings; empty cells become "".

    UTF-8 (with or without BOM) unless `encoding` says otherwise.
    """
    path = checked_table_path(path)
    with _reading_errors(path, encoding, lambda: 0):
        if path.suffix.lower() == ".xlsx":
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
    return frame.fillna("")


def checked_table_path(path: str | Path) -> Path:
    """`path` as a Path, or a TableError when it is missing or not a table file."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"No file at `{path}`.")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise TableError(
            f"`{path.name}`: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}."
        )
    return path


def check_columns(frame: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    """Raise TableError naming the columns found when any of `columns` is missing."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise TableError(
            f"`{Path(path).name}` has no column {missing[0]!r}; columns found: {found}."
        )


def read_table_chunks(
    path: str | Path, *, encoding: str | None = None, chunk_rows: int = 10_000
) -> Iterator[pd.DataFrame]:
    """The table in file order as frames of at most `chunk_rows` rows, strings, empty cells "".

    CSV and TSV are streamed, so memory depends on `chunk_rows`, never on the file's length.
    XLSX cannot be read in parts: it is read whole, then handed out in slices. A header-only
    table yields one empty frame with its columns. The errors are `read_table`'s, raised when
    the reader reaches the bad part of the file (which may be after earlier chunks).
    """
    path = checked_table_path(path)
    suffix = path.suffix.lower()
    if chunk_rows < 1:
        raise ValueError(f"`chunk_rows` must be a positive integer, got {chunk_rows}.")
    rows_read = 0
    with _reading_errors(path, encoding, lambda: rows_read):
        if suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False).fillna("")
            for start in range(0, max(len(frame), 1), chunk_rows):
                yield frame.iloc[start : start + chunk_rows]
            return
        reader = pd.read_csv(
            path,
            sep=separator_for(path),
            dtype=str,
            keep_default_na=False,
            encoding=encoding or "utf-8-sig",
            chunksize=chunk_rows,
        )
        with reader:
            for chunk in reader:
                rows_read += len(chunk)
                yield chunk.fillna("")


def read_columns(path: str | Path, *, encoding: str | None = None) -> list[str]:
    """The header of a table, read without its rows (except XLSX, which is parsed whole)."""
    path = checked_table_path(path)
    with _reading_errors(path, encoding, lambda: 0):
        if path.suffix.lower() == ".xlsx":
            return [str(c) for c in pd.read_excel(path, nrows=0).columns]
        frame = pd.read_csv(
            path, sep=separator_for(path), dtype=str, encoding=encoding or "utf-8-sig", nrows=0
        )
        return [str(c) for c in frame.columns]


@contextlib.contextmanager
def _reading_errors(path: Path, encoding: str | None, rows_read) -> Iterator[None]:
    """Turn pandas' and the codecs' exceptions into TableErrors that say what to fix."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise TableError(
            f"`{path.name}` is not valid {encoding or 'UTF-8'} text (a bad byte after data row "
            f"{rows_read()}). Save it as UTF-8, or name its encoding (e.g. --encoding latin-1)."
        ) from error
    except LookupError as error:
        raise TableError(
            f"Unknown text encoding {encoding!r}: use a name such as utf-8, latin-1 or cp1252."
        ) from error
    except pd.errors.EmptyDataError as error:
        raise TableError(f"`{path.name}` is empty: it has no header row and no data.") from error
    except (pd.errors.ParserError, ValueError) as error:
        raise TableError(f"`{path.name}` could not be parsed as a table ({error}).") from error
