"""Reading tables as people have them: detected delimiters, encodings and sheets, and warnings."""

import pandas as pd
import pytest

from engine.tables import (
    SAMPLE_BYTES,
    DetectedFormat,
    TableError,
    TableFormat,
    check_columns,
    column_warnings,
    detect_encoding,
    detect_format,
    read_columns,
    read_table,
    read_table_chunks,
)

ROWS = [["1", "Un café, s'il vous plaît", "drinks"], ["2", "Crème brûlée", "dessert"]]


def write_table(path, delimiter=",", encoding="utf-8", rows=ROWS):
    lines = [delimiter.join(["id", "text", "label"])]
    for row in rows:
        lines.append(delimiter.join(f'"{cell}"' if delimiter in cell else cell for cell in row))
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    "name, delimiter, encoding, detected_encoding",
    [
        ("comma.csv", ",", "utf-8", "utf-8"),
        ("semicolon.csv", ";", "utf-8", "utf-8"),
        ("tab-named.csv", "\t", "utf-8", "utf-8"),
        ("pipe.txt", "|", "utf-8", "utf-8"),
        ("excel.csv", ";", "utf-8-sig", "utf-8-sig"),
        ("unicode.txt", "\t", "utf-16", "utf-16"),
        ("unicode-be.csv", ",", "utf-16-be", "utf-16"),  # with its BOM written below
        ("windows.csv", ";", "cp1252", "cp1252"),
        ("tab.tsv", "\t", "latin-1", "cp1252"),  # the same bytes for these characters
    ],
)
def test_delimiter_and_encoding_are_detected(
    tmp_path, name, delimiter, encoding, detected_encoding
):
    path = write_table(tmp_path / name, delimiter, encoding)
    if encoding == "utf-16-be":
        path.write_bytes(b"\xfe\xff" + path.read_bytes())
    detected = detect_format(path)
    assert detected == DetectedFormat(encoding=detected_encoding, delimiter=delimiter)
    frame = read_table(path)
    assert list(frame.columns) == ["id", "text", "label"]
    assert frame.values.tolist() == ROWS
    assert read_columns(path) == ["id", "text", "label"]
    assert pd.concat(read_table_chunks(path, chunk_rows=1)).values.tolist() == ROWS


def test_latin1_bytes_that_cp1252_lacks(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes("text\ncafé \x81\x8d\n".encode("latin-1"))
    assert detect_format(path).encoding == "latin-1"
    assert read_table(path)["text"].tolist() == ["café \x81\x8d"]


def test_a_character_cut_by_the_end_of_the_sample_is_still_utf8(tmp_path):
    text = ("text\n" + "é" * SAMPLE_BYTES).encode("utf-8")  # 2 bytes each: the sample cuts one
    assert text[SAMPLE_BYTES - 1 : SAMPLE_BYTES + 1] == "é".encode()
    assert detect_encoding(text[:SAMPLE_BYTES], whole=False) == "utf-8"
    assert detect_encoding(text[:SAMPLE_BYTES], whole=True) == "cp1252"  # the file ends there
    path = tmp_path / "long.csv"
    path.write_bytes(text)
    assert detect_format(path).encoding == "utf-8"


def test_one_column_files_and_overrides(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text("text\nHello, world\nFine\n")  # a comma in a text is no delimiter
    assert read_table(path)["text"].tolist() == ["Hello, world", "Fine"]
    semicolons = write_table(tmp_path / "semi.csv", ";")
    frame = read_table(semicolons, table_format=TableFormat(delimiter=","))
    with pytest.raises(TableError, match=r"columns found: 'id;text;label'\. It was read as one"):
        check_columns(frame, ["text"], semicolons)


def test_a_wrong_or_unknown_encoding_is_a_clear_error(tmp_path):
    path = write_table(tmp_path / "windows.csv", ";", "cp1252")
    with pytest.raises(TableError, match=r"`windows.csv` is not valid UTF-8 text.*--encoding"):
        read_table(path, table_format=TableFormat(encoding="utf-8"))
    with pytest.raises(TableError, match="Unknown text encoding 'klingon'"):
        TableFormat(encoding="klingon")
    with pytest.raises(TableError, match=r"`delimiter` must be one of ',', ';', '\\t', '\|'"):
        TableFormat(delimiter=":")


def test_a_workbook_sheet_is_picked_by_name(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"note": ["read me"]}).to_excel(book, sheet_name="About", index=False)
        pd.DataFrame({"text": ["Whisk the eggs", "NA"], "label": ["cooking", ""]}).to_excel(
            book, sheet_name="Examples", index=False
        )
    assert detect_format(path) == DetectedFormat(sheet="About", sheets=("About", "Examples"))
    assert read_columns(path) == ["note"]
    examples = TableFormat(sheet="Examples")
    assert detect_format(path, examples).sheet == "Examples"
    frame = read_table(path, table_format=examples)
    assert frame.values.tolist() == [["Whisk the eggs", "cooking"], ["NA", ""]]  # "NA" kept
    chunks = list(read_table_chunks(path, table_format=examples, chunk_rows=1))
    assert [len(chunk) for chunk in chunks] == [1, 1]
    with pytest.raises(TableError, match=r"has no sheet 'Data'; sheets found: 'About', 'Examples'"):
        read_table(path, table_format=TableFormat(sheet="Data"))
    with pytest.raises(TableError, match="has no sheet 'Data'"):
        detect_format(path, TableFormat(sheet="Data"))


def test_a_damaged_workbook_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.xlsx"
    pd.DataFrame({"text": ["Whisk the eggs"] * 100}).to_excel(path, index=False)
    path.write_bytes(path.read_bytes()[:-200])  # cut short, as by a failed download
    with pytest.raises(TableError, match="is not an Excel workbook"):
        read_table(path)


@pytest.mark.parametrize(
    "columns, label_column, expected",
    [
        ({"text": ["Whisk the eggs", "Stocks fell"], "label": ["cooking", "finance"]}, "label", []),
        ({"text": ["a", "b"], "label": ["a", "b"]}, "label", ["hold the same values"]),
        ({"id": ["1", "2.5", "-3", ""], "label": ["x", "y", "z", "x"]}, "label", ["only numbers"]),
        (
            {"text": [f"text {i}" for i in range(40)], "label": [f"id-{i}" for i in range(40)]},
            "label",
            ["has 40 different values in 40 rows"],
        ),
        (  # many classes, but each has examples: no warning
            {"text": [f"text {i}" for i in range(90)], "label": [f"c{i % 30}" for i in range(90)]},
            "label",
            [],
        ),
        ({"text": ["12", "1,000"]}, None, ["only numbers"]),
    ],
)
def test_column_warnings(columns, label_column, expected):
    frame = pd.DataFrame(columns)
    text_column = next(iter(columns))
    warnings = column_warnings(frame, text_column, label_column)
    assert len(warnings) == len(expected)
    for warning, words in zip(warnings, expected):
        assert words in warning


def test_examples_from_a_table(tmp_path):
    from engine.project import Example, examples_from_table

    path = write_table(
        tmp_path / "mixed.csv", ";", rows=[["1", " Whisk the eggs ", " cooking "], ["2", "  ", "x"]]
    )
    frame = pd.concat(
        [read_table(path), pd.DataFrame([["3", "Rates rose", ""]], columns=["id", "text", "label"])]
    )
    assert examples_from_table(frame, "text", "label", "finance") == [
        Example("Whisk the eggs", "cooking"),  # stripped; the blank text is skipped
        Example("Rates rose", "finance"),  # an empty class cell gets the default
    ]
    assert examples_from_table(frame, "text", None, "sports") == [
        Example("Whisk the eggs", "sports"),
        Example("Rates rose", "sports"),
    ]
