"""Read the user's tables (CSV, TSV, XLSX) as people have them, with messages that say what to fix.

People's files come with semicolons (European Excel), tabs in a `.csv`, Windows encodings and
several sheets. Every reader here takes a `TableFormat` whose empty fields are detected from
the file, so the GUI, the CLI and batch classification read a file the same way.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
WORKBOOK_SUFFIXES = (".xlsx",)
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}  # character -> name
ENCODINGS = {  # codec -> name shown to the user; detection returns one of these codecs
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "cp1252",
    "latin-1": "Latin-1",
}
SAMPLE_BYTES = 1 << 20  # enough for the encoding of most files; read in milliseconds
SNIFF_RECORDS = 50  # records compared to choose the delimiter
AGREEMENT = 0.9  # share of those records that must have the header's field count


class TableError(ValueError):
    """A table cannot be read or lacks a column the caller needs."""


@dataclass(frozen=True)
class TableFormat:
    """How to read a table; None means "detect it from the file".

    `sheet` applies to workbooks (.xlsx) only, `encoding` and `delimiter` to text tables only;
    each is ignored for the other kind.
    """

    encoding: str | None = None  # a codec name, e.g. "utf-8", "cp1252"
    delimiter: str | None = None  # one of DELIMITERS
    sheet: str | None = None  # None: the first sheet

    def __post_init__(self):
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            allowed = ", ".join(repr(d) for d in DELIMITERS)
            raise TableError(f"`delimiter` must be one of {allowed}, got {self.delimiter!r}.")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError as error:
                raise TableError(
                    f"Unknown text encoding {self.encoding!r}: use a name such as utf-8, "
                    "latin-1 or cp1252."
                ) from error


@dataclass(frozen=True)
class DetectedFormat(TableFormat):
    """A TableFormat with every field that applies to the file filled in.

    A workbook has `sheet` and `sheets` (its sheet names, in order), a text table has
    `encoding` and `delimiter` and no sheets.
    """

    sheets: tuple[str, ...] = ()


def detect_format(path: str | Path, table_format: TableFormat | None = None) -> DetectedFormat:
    """`table_format` (default: all None) with its None fields detected from the file.

    Encoding: a BOM (UTF-8, UTF-16), else UTF-8 if the first MiB decodes as UTF-8, else cp1252,
    else Latin-1. Delimiter: the one among DELIMITERS on which the first records agree on the
    most columns; the suffix's (tab for .tsv/.txt, else comma) on a tie. Sheet: the first.
    Raises TableError for a missing file, an unknown sheet (naming the sheets) or an unreadable
    workbook.
    """
    path = checked_table_path(path)
    given = table_format or TableFormat()
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        with _reading_errors(path, None, lambda: 0), pd.ExcelFile(path) as book:
            sheets = tuple(str(name) for name in book.sheet_names)
        return DetectedFormat(sheet=_checked_sheet(path, sheets, given.sheet), sheets=sheets)
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    whole = len(sample) < SAMPLE_BYTES
    encoding = given.encoding or detect_encoding(sample, whole=whole)
    text = codecs.decode(sample, encoding, errors="replace")
    if not whole:  # the last line may be cut short
        text = text[: text.rfind("\n") + 1]
    delimiter = given.delimiter or detect_delimiter(text, default=separator_for(path))
    return DetectedFormat(encoding=encoding, delimiter=delimiter)


def detect_encoding(sample: bytes, *, whole: bool) -> str:
    """The codec (a key of ENCODINGS) for the first bytes of a file; `whole`: sample is all of it.

    cp1252 (Windows' "ANSI") leaves five bytes undefined that Latin-1 accepts, hence the order.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # Incremental, so a character cut by the end of the sample is not taken as an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(text: str, *, default: str = ",") -> str:
    """The delimiter on which the first records of `text` agree on the most fields.

    A delimiter fits when at least AGREEMENT of the records have the header's field count;
    among those that fit, the most fields wins, then the most agreement, then `default`.
    A one-column file thus gets a delimiter it does not contain.
    """
    candidates = [default] + [d for d in DELIMITERS if d != default]
    return max(candidates, key=lambda delimiter: _delimiter_fit(text, delimiter))


def _delimiter_fit(text: str, delimiter: str) -> tuple[bool, int, float]:
    """(records agree, fields in the header, share of records with that many fields)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        records = [record for record in itertools.islice(reader, SNIFF_RECORDS) if record]
    except csv.Error:
        return False, 0, 0.0
    if not records:
        return False, 0, 0.0
    widths = [len(record) for record in records]
    share = widths.count(widths[0]) / len(widths)
    return share >= AGREEMENT, widths[0], share


def separator_for(path: Path) -> str:
    """The delimiter a file's suffix suggests: tab for .tsv/.txt, else comma."""
    return "\t" if path.suffix.lower() in (".tsv", ".txt") else ","


def read_table(
    path: str | Path, *, table_format: TableFormat | None = None, nrows: int | None = None
) -> pd.DataFrame:
    """The whole table (or its first `nrows`) as strings; empty cells become "".

    What `table_format` leaves None is detected (see `detect_format`).
    """
    path = checked_table_path(path)
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return _read_sheet(path, table_format, nrows=nrows)
    detected = detect_format(path, table_format)
    with _reading_errors(path, detected.encoding, lambda: 0):
        frame = pd.read_csv(path, **_csv_options(detected), nrows=nrows)
    return frame.fillna("")


def read_table_chunks(
    path: str | Path, *, table_format: TableFormat | None = None, chunk_rows: int = 10_000
) -> Iterator[pd.DataFrame]:
    """The table in file order as frames of at most `chunk_rows` rows, strings, empty cells "".

    CSV and TSV are streamed, so memory depends on `chunk_rows`, never on the file's length.
    XLSX cannot be read in parts: it is read whole, then handed out in slices. A header-only
    table yields one empty frame with its columns. The errors are `read_table`'s, raised when
    the reader reaches the bad part of the file (which may be after earlier chunks).
    """
    path = checked_table_path(path)
    if chunk_rows < 1:
        raise ValueError(f"`chunk_rows` must be a positive integer, got {chunk_rows}.")
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        frame = _read_sheet(path, table_format)
        for start in range(0, max(len(frame), 1), chunk_rows):
            yield frame.iloc[start : start + chunk_rows]
        return
    detected = detect_format(path, table_format)
    rows_read = 0
    with _reading_errors(path, detected.encoding, lambda: rows_read):
        with pd.read_csv(path, **_csv_options(detected), chunksize=chunk_rows) as reader:
            for chunk in reader:
                rows_read += len(chunk)
                yield chunk.fillna("")


def read_columns(path: str | Path, *, table_format: TableFormat | None = None) -> list[str]:
    """The header of a table, read without its rows (except XLSX, which is parsed whole)."""
    return [str(column) for column in read_table(path, table_format=table_format, nrows=0).columns]


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
    if not missing:
        return
    found = ", ".join(repr(str(c)) for c in frame.columns)
    hint = ""
    if len(frame.columns) == 1 and any(d in str(frame.columns[0]) for d in DELIMITERS):
        hint = (
            " It was read as one column: if another character separates its columns, choose "
            "that delimiter."
        )
    raise TableError(
        f"`{Path(path).name}` has no column {missing[0]!r}; columns found: {found}.{hint}"
    )


def column_warnings(frame: pd.DataFrame, text_column: str, label_column: str | None) -> list[str]:
    """Plain-English doubts about a choice of columns, for the user to read before importing.

    Warns when the class column has a different value on nearly every row (an id or a text,
    more likely than a class), when the texts equal the classes, and when the texts are all
    numbers. Blank cells are left out; an empty list means nothing looks wrong.
    """
    texts = frame[text_column].astype(str).str.strip()
    texts = texts[texts != ""]
    warnings = []
    if len(texts) and texts.str.fullmatch(r"[-+]?\d[\d.,]*").all():
        warnings.append(
            f"The text column {text_column!r} holds only numbers: is it an id? Choose the "
            "column that holds the texts."
        )
    if label_column is None:
        return warnings
    labels = frame[label_column].astype(str).str.strip()
    if frame[text_column].astype(str).str.strip().equals(labels):
        warnings.append(
            f"The text column {text_column!r} and the class column {label_column!r} hold the "
            "same values: each text would be its own class."
        )
    labels = labels[labels != ""]
    distinct = labels.nunique()
    if distinct > 20 and distinct > 0.5 * len(labels):
        warnings.append(
            f"The class column {label_column!r} has {distinct:,} different values in "
            f"{len(labels):,} rows: is it really the class, and not an id or a text?"
        )
    return warnings


def _csv_options(detected: DetectedFormat) -> dict:
    return dict(
        sep=detected.delimiter, encoding=detected.encoding, dtype=str, keep_default_na=False
    )


def _read_sheet(path: Path, table_format: TableFormat | None, **options) -> pd.DataFrame:
    """One sheet of a workbook as strings, empty cells "": the named one, else the first."""
    sheet = table_format.sheet if table_format else None
    with _reading_errors(path, None, lambda: 0), pd.ExcelFile(path) as book:
        sheets = tuple(str(name) for name in book.sheet_names)
        chosen = _checked_sheet(path, sheets, sheet)
        frame = pd.read_excel(book, sheet_name=chosen, dtype=str, keep_default_na=False, **options)
    return frame.fillna("")


def _checked_sheet(path: Path, sheets: tuple[str, ...], sheet: str | None) -> str:
    if sheet is None:
        return sheets[0]
    if sheet not in sheets:
        found = ", ".join(repr(name) for name in sheets)
        raise TableError(f"`{path.name}` has no sheet {sheet!r}; sheets found: {found}.")
    return sheet


@contextlib.contextmanager
def _reading_errors(path: Path, encoding: str | None, rows_read) -> Iterator[None]:
    """Turn pandas' and the codecs' exceptions into TableErrors that say what to fix."""
    try:
        yield
    except TableError:
        raise  # already says what to fix (and is a ValueError, caught below otherwise)
    except UnicodeDecodeError as error:
        name = ENCODINGS.get(encoding or "", encoding)
        raise TableError(
            f"`{path.name}` is not valid {name} text (a bad byte after data row {rows_read()}). "
            "Choose its encoding (e.g. cp1252 or latin-1: the Encoding box, or --encoding), or "
            "save it as UTF-8."
        ) from error
    except zipfile.BadZipFile as error:
        raise TableError(
            f"`{path.name}` is not an Excel workbook (.xlsx), or it is damaged: open and save "
            "it again in Excel, or export it as CSV."
        ) from error
    except pd.errors.EmptyDataError as error:
        raise TableError(f"`{path.name}` is empty: it has no header row and no data.") from error
    except (pd.errors.ParserError, ValueError) as error:
        raise TableError(f"`{path.name}` could not be parsed as a table ({error}).") from error
