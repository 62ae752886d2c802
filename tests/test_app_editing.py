"""Editing examples and classes: paste, import, undo/redo, flags, and messages for bad input."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from test_app_support import answers, loaded_model, one_torch_thread, window  # noqa: F401 - fixtures used by name

from app.example_table_model import Column, Issue
from app.message_banner import MessageKind


def rows(window) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in window.document.examples.examples()]


def test_paste_tab_lines_and_plain_lines(window):
    window.document.add_class("news")
    window.classes_panel.select("news")
    pasted = "Shares fell\tfinance\nA plain line\n\nRain tomorrow\tweather\n"
    count = window.importer.paste_text(pasted)
    assert count == 3
    assert rows(window) == [
        ("Shares fell", "finance"),
        ("A plain line", "news"),
        ("Rain tomorrow", "weather"),
    ]
    assert window.document.class_names() == ["news", "finance", "weather"]
    assert window.document.classes.count("news") == 1
    assert "New classes: finance, weather" in window.banner.text()
    # The whole paste is one undo step, classes included.
    window.document.undo_stack.undo()
    assert rows(window) == [] and window.document.class_names() == ["news"]
    window.document.undo_stack.redo()
    assert len(rows(window)) == 3 and "weather" in window.document.class_names()


def test_paste_from_the_clipboard_action(window):
    QGuiApplication.clipboard().setText("first\tsports\nsecond\tsports")
    window.menu_actions.paste.trigger()
    assert rows(window) == [("first", "sports"), ("second", "sports")]
    assert window.examples_panel.selected_rows() == [0, 1]


def test_empty_clipboard_is_explained(window):
    assert window.importer.paste_text("  \n ") == 0
    assert (
        window.banner.kind is MessageKind.ERROR
        and "clipboard holds no text" in window.banner.text()
    )


def test_plain_lines_without_a_class_are_flagged(window):
    window.importer.paste_text("no class here")
    model = window.document.examples
    assert model.issue(0)[0] is Issue.UNLABELED
    assert "no class yet" in window.banner.text()
    assert model.index(0, Column.CHECK).data() == "No class yet (ignored)"


def test_duplicates_conflicts_and_empty_texts_are_flagged_inline(window):
    window.importer.paste_text("Same text\ta\nsame   TEXT\ta\nOther\tb\nother\tc\n")
    window.document.add_empty_example("a")
    model = window.document.examples
    assert model.issue(0) == (Issue.DUPLICATE, "Duplicate of row 2")
    assert model.issue(1) == (Issue.DUPLICATE, "Duplicate of row 1")
    assert model.issue(2)[0] is Issue.CONFLICT and model.issue(3)[0] is Issue.CONFLICT
    assert model.issue(4)[0] is Issue.EMPTY
    assert model.index(0, Column.TEXT).data(Qt.ItemDataRole.BackgroundRole) == Issue.DUPLICATE.value
    # Fixing the text clears the flag, and undo brings it back.
    model.setData(model.index(1, Column.TEXT), "Something else")
    assert model.issue(0) is None and model.issue(1) is None
    window.document.undo_stack.undo()
    assert model.issue(0)[0] is Issue.DUPLICATE
    assert "to check" in window.examples_panel.summary.text()


def test_cell_edits_the_label_delegate_and_row_deletion_undo(window, qtbot):
    window.importer.paste_text("one\ta\ntwo\tb\nthree\ta")
    model, stack = window.document.examples, window.document.undo_stack
    view = window.examples_panel.view
    index = model.index(1, Column.LABEL)
    view.edit(index)
    editor = view.indexWidget(index)
    assert [editor.itemText(i) for i in range(editor.count())] == ["a", "b"]
    editor.setCurrentIndex(0)
    editor.activated.emit(0)
    assert rows(window)[1] == ("two", "a")
    model.setData(model.index(0, Column.TEXT), "ONE")
    window.examples_panel.select_rows(0, 2)
    window.delete_selection()
    assert rows(window) == [("three", "a")]
    for expected in (
        [("ONE", "a"), ("two", "a"), ("three", "a")],
        [("one", "a"), ("two", "a"), ("three", "a")],
        [("one", "a"), ("two", "b"), ("three", "a")],
    ):
        stack.undo()
        assert rows(window) == expected
    for _ in range(3):
        stack.redo()
    assert rows(window) == [("three", "a")]


def test_class_add_rename_merge_delete_with_undo(window, answers):
    window.importer.paste_text("goal\tsport\nrecipe\tfood\nbake\tfood\nrun\tathletics")
    panel, document, stack = window.classes_panel, window.document, window.document.undo_stack
    answers["text"] = "weather"
    panel.add_class()
    assert document.class_names() == ["sport", "food", "athletics", "weather"]
    answers["text"] = "food"
    panel.add_class()
    assert "already a class called 'food'" in window.banner.text()
    document.classes.setData(document.classes.index(1), "cooking")  # inline rename
    assert document.class_names()[1] == "cooking" and rows(window)[1] == ("recipe", "cooking")
    panel.select("sport")
    panel.view.selectionModel().select(
        document.classes.index(2), panel.view.selectionModel().SelectionFlag.Select
    )
    answers["choice"] = "sport"
    panel.merge_selected()
    assert document.class_names() == ["sport", "cooking", "weather"]
    assert rows(window)[3] == ("run", "sport")
    panel.select("cooking")
    panel.delete_selected()
    assert document.class_names() == ["sport", "weather"]
    assert rows(window) == [("goal", "sport"), ("run", "sport")]
    assert "Deleted 'cooking' and 2 examples" in window.banner.text()
    assert (
        document.classes.index(0).data().startswith("sport\n2 examples · 6 more for a good start")
    )
    for _ in range(4):  # delete, merge, rename, add: each one step
        stack.undo()
    assert document.class_names() == ["sport", "food", "athletics"]
    assert rows(window) == [
        ("goal", "sport"),
        ("recipe", "food"),
        ("bake", "food"),
        ("run", "athletics"),
    ]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_csv_with_the_column_picker(window, tmp_path):
    path = write_csv(
        tmp_path / "examples.csv",
        "id,sentence,category\n1,The match ended in a draw,sports\n"
        "2,Boil the pasta,cooking\n3,,cooking\n4,Stocks rallied,finance\n",
    )
    window.importer.import_file(path)
    dialog = window.importer.dialog
    assert (
        dialog.isVisible()
        and dialog.text_column == "sentence"
        and dialog.label_column == "category"
    )
    assert (
        "3 examples in 3 classes" in dialog.summary.text() and "1 row(s)" in dialog.summary.text()
    )
    assert dialog.preview_model.rowCount() == 4 and dialog.preview_model.columnCount() == 3
    dialog.accept()
    assert rows(window) == [
        ("The match ended in a draw", "sports"),
        ("Boil the pasta", "cooking"),
        ("Stocks rallied", "finance"),
    ]
    assert window.document.class_names() == ["sports", "cooking", "finance"]
    window.document.undo_stack.undo()
    assert rows(window) == [] and window.document.class_names() == []


def test_import_tsv_and_xlsx_to_the_selected_class(window, tmp_path):
    import pandas as pd

    window.document.add_class("questions")
    window.classes_panel.select("questions")
    tsv = write_csv(tmp_path / "lines.tsv", "text\nWhere is it?\nWhy not?\n")
    assert window.importer.import_table(tsv, "text") == 2
    xlsx = tmp_path / "sheet.xlsx"
    pd.DataFrame({"text": ["How so?"], "label": ["other"]}).to_excel(xlsx, index=False)
    window.importer.import_file(xlsx)
    window.importer.dialog.set_columns("text", "label")
    window.importer.dialog.accept()
    assert rows(window) == [
        ("Where is it?", "questions"),
        ("Why not?", "questions"),
        ("How so?", "other"),
    ]


@pytest.mark.parametrize(
    "content, column, message",
    [
        ("", "text", "is empty"),
        ("text,label\n", "text", "no rows"),
        ("a,b\nx,y\n", "text", "has no column 'text'"),
    ],
)
def test_bad_tables_show_a_message(window, tmp_path, content, column, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if column == "text" and message == "has no column 'text'":
        window.importer.import_table(path, column)
    else:
        window.importer.import_file(path)
    assert window.banner.kind is MessageKind.ERROR
    assert message in window.banner.text()
    assert rows(window) == []


def test_dropping_a_file_opens_the_import(window, tmp_path, qtbot):
    path = write_csv(tmp_path / "dropped.csv", "text,label\nhello,greeting\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(QPoint(10, 10)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.importer.dialog is not None)
    qtbot.waitUntil(window.importer.dialog.isVisible)
    window.importer.dialog.accept()
    assert rows(window) == [("hello", "greeting")]
