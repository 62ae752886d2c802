"""Projects (save, open, autosave, restore) and what the app writes: classifier, ONNX, batch CSV."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import csv
import errno
import os
from types import SimpleNamespace

import pytest
from test_app_support import (  # noqa: F401 - fixtures used by name
    TRAINING_TIMEOUT_MS,
    answers,
    loaded_model,
    one_torch_thread,
    topic_project,
    train_and_wait,
    window,
)

from app.app_settings import autosave_path
from app.message_banner import MessageKind


def rows(window):
    return [(e.text, e.label) for e in window.document.examples.examples()]


def write_rows(path, lines, delimiter, encoding):
    path.write_bytes("".join(delimiter.join(line) + "\n" for line in lines).encode(encoding))
    return path


@pytest.fixture
def trained_window(window, qtbot):
    window.document.load(topic_project(per_class=3), None)
    train_and_wait(qtbot, window)
    assert window.host.classifier is not None
    return window


def test_project_save_and_open_round_trip(trained_window, qtbot, tmp_path, answers):
    window = trained_window
    window.importer.paste_text("An unsorted line")
    answers["save_path"] = tmp_path / "topics"
    assert window.session.save()
    path = tmp_path / "topics.fewshot.json"
    assert path.is_file() and window.document.path == path and not window.document.is_modified
    assert window.windowTitle() == "topics — Fewshot Studio"
    saved = (
        window.document.class_names(),
        window.document.examples.examples(),
        window.document.classifier_file,
    )
    labels = window.host.classifier.labels

    window.session.new_project()
    assert window.document.examples.rowCount() == 0 and window.host.classifier is None
    assert window.session.open_project(path)
    assert (
        window.document.class_names(),
        window.document.examples.examples(),
        window.document.classifier_file,
    ) == saved
    # The classifier inside the project comes back to life once loaded in the background.
    qtbot.waitUntil(lambda: window.host.classifier is not None, timeout=30_000)
    assert window.host.classifier.labels == labels
    assert str(path) == window.settings.recent_files[0]


def test_unsaved_changes_are_offered_for_saving(window, tmp_path, answers):
    from app import prompts

    window.importer.paste_text("text\tlabel-a")
    answers["unsaved_changes"] = prompts.UnsavedChoice.CANCEL
    window.session.new_project()
    assert window.document.examples.rowCount() == 1
    answers["unsaved_changes"] = prompts.UnsavedChoice.SAVE
    answers["save_path"] = tmp_path / "kept.fewshot.json"
    window.session.new_project()
    assert window.document.examples.rowCount() == 0
    assert (tmp_path / "kept.fewshot.json").is_file()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{ not json", "not valid JSON"),
        (
            '{"format": "fewshot-studio-project", "format_version": 1, "classes": ["a"], '
            '"examples": [{"text": "x", "label": "b"}]}',
            "not in the class list",
        ),
        ("", "not valid JSON"),
    ],
)
def test_a_corrupt_project_shows_a_message_and_keeps_the_document(
    window, tmp_path, content, message
):
    window.importer.paste_text("still here\tkept")
    path = tmp_path / "broken.fewshot.json"
    path.write_text(content)
    assert not window.session.open_project(path, ask=False)
    assert window.banner.kind is MessageKind.ERROR and message in window.banner.text()
    assert window.document.examples.rowCount() == 1


def test_autosave_and_the_offer_to_restore(window, qtbot, answers, loaded_model):
    from app.main_window import MainWindow

    window.importer.paste_text("unsaved work\tdraft")
    window.session.autosave()  # written by a worker thread
    qtbot.waitUntil(autosave_path().is_file, timeout=5_000)
    # A second window starting now finds the autosave, as after a crash.
    answers["yes_no"] = True
    restored = MainWindow(window.settings)
    qtbot.addWidget(restored)
    restored.start(model=loaded_model)
    assert "yes_no" in answers["asked"]
    assert [(e.text, e.label) for e in restored.document.examples.examples()] == [
        ("unsaved work", "draft")
    ]
    assert restored.document.is_modified and "restored" in restored.banner.text()
    restored.close()  # a clean exit removes the autosave
    assert not autosave_path().exists()


def test_save_classifier_file_loads_back(trained_window, tmp_path, answers):
    from engine.classifier import Classifier

    window = trained_window
    answers["save_path"] = tmp_path / "topics"
    path = window.save_classifier()
    assert path == tmp_path / "topics.safetensors" and path.is_file()
    assert "KB" in window.banner.text() and str(path) in window.banner.text()
    model = window.host.model
    loaded = Classifier.load(path, backbone=model.backbone, meta=model.meta)
    text = "The striker scored in extra time"
    assert loaded.predict(text) == window.host.classifier.predict(text)


# ---- disks that fail ------------------------------------------------------------------
@pytest.fixture
def disk(monkeypatch):
    """Atomic writes (their hidden `.tmp` files) fail half-way with `disk.error`, an errno, as
    on a full or read-only disk; None lets them through. Threads (autosave) see it too."""
    from pathlib import Path

    disk = SimpleNamespace(error=None)
    write_bytes = Path.write_bytes

    def write(path, data):
        if disk.error is None or not path.name.endswith(".tmp"):
            return write_bytes(path, data)
        write_bytes(path, data[: len(data) // 2])
        raise OSError(disk.error, os.strerror(disk.error))

    monkeypatch.setattr(Path, "write_bytes", write)
    return disk


# (errno mocked, or None: the path itself fails for real), where to write, what to advise
FAILED_WRITES = {
    "full disk": (errno.ENOSPC, "kept", "free some disk space or choose another disk"),
    "read-only": (errno.EROFS, "kept", "choose a folder you can write to"),
    "through a file": (None, "a-file/kept", "a part of the path is a file, not a folder"),
    "name too long": (None, "n" * 300, "choose a shorter file name"),
}


def temp_files(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("error, name, advice", FAILED_WRITES.values(), ids=FAILED_WRITES)
def test_a_project_save_that_fails_says_why_and_keeps_the_saved_file(
    window, tmp_path, disk, error, name, advice
):
    from engine.project import Example

    (tmp_path / "a-file").write_text("not a folder")
    saved = tmp_path / "kept.fewshot.json"
    window.document.add_examples([Example("first", "draft")], "Add")
    assert window.session.save_as(saved)
    before = saved.read_bytes()
    window.document.add_examples([Example("second", "draft")], "Add")
    disk.error = error
    assert not window.session.save_as(tmp_path / name)
    text = window.banner.text()
    assert window.banner.kind is MessageKind.ERROR, text
    assert text.startswith(f"Could not save the project: cannot use {tmp_path / name}")
    assert f"({advice}); nothing was changed." in text
    assert saved.read_bytes() == before and temp_files(tmp_path) == []
    assert window.document.is_modified and window.document.path == saved


def test_autosave_that_cannot_write_says_so_once_until_a_save_works(
    window, qtbot, tmp_path, disk, monkeypatch
):
    from app.project_session import AUTOSAVE_JOB
    from engine.project import Example

    shown = []
    show = window.banner.show_message
    monkeypatch.setattr(
        window.banner,
        "show_message",
        lambda text, kind=MessageKind.INFO: shown.append(text) or show(text, kind),
    )

    def change_and_autosave(text):
        window.document.add_examples([Example(text, "draft")], "Add")
        window.session.autosave()  # written by a worker thread
        qtbot.waitUntil(lambda: not window.runner.is_running(AUTOSAVE_JOB), timeout=10_000)

    disk.error = errno.ENOSPC
    for text in ("one", "two", "three"):
        change_and_autosave(text)
    warnings = [text for text in shown if "not being backed up" in text]
    assert len(warnings) == 1, shown  # once, not after every change
    assert str(autosave_path()) in warnings[0] and "free some disk space" in warnings[0]
    assert window.banner.kind is MessageKind.WARNING and window.banner.text() == warnings[0]
    assert not autosave_path().exists()
    assert list(autosave_path().parent.glob(".autosave.fewshot.json.*.tmp")) == []
    disk.error = None
    change_and_autosave("four")
    qtbot.waitUntil(autosave_path().is_file, timeout=10_000)
    qtbot.waitUntil(lambda: window.banner.text() == "", timeout=10_000)  # taken back
    disk.error = errno.ENOSPC
    change_and_autosave("five")  # failing again after it worked: said again
    assert len([text for text in shown if "not being backed up" in text]) == 2
    disk.error = None
    assert window.session.save_as(tmp_path / "saved.fewshot.json")
    assert "not being backed up" not in window.banner.text()


@pytest.mark.parametrize(
    "error, name, advice",
    [FAILED_WRITES["full disk"], FAILED_WRITES["through a file"]],
    ids=["full disk", "through a file"],
)
def test_a_classifier_file_save_that_fails_says_why_and_keeps_the_old_file(
    trained_window, tmp_path, disk, error, name, advice
):
    window = trained_window
    (tmp_path / "a-file").write_text("not a folder")
    previous = tmp_path / "kept.safetensors"
    previous.write_bytes(b"the previous classifier")
    disk.error = error
    assert window.save_classifier(tmp_path / name) is None
    text = window.banner.text()
    assert window.banner.kind is MessageKind.ERROR, text
    assert text.startswith(f"Could not save the classifier: cannot use {tmp_path / name}")
    assert advice in text
    assert previous.read_bytes() == b"the previous classifier" and temp_files(tmp_path) == []


def test_an_onnx_export_that_fills_the_disk_keeps_the_previous_export(
    trained_window, qtbot, tmp_path, monkeypatch
):
    def fill_the_disk(classifier, path):  # as if the disk filled while the model was written
        path.write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("engine.onnx.trace_graph", fill_the_disk)
    export = tmp_path / "export"
    export.mkdir()
    for name in ("model.onnx", "classifier.json"):
        (export / name).write_text(f"the previous {name}")
    window = trained_window
    window.show_export()
    dialog = window.export_dialog
    dialog.folder_edit.setText(str(export))
    dialog.export()
    qtbot.waitUntil(lambda: dialog.banner.kind is MessageKind.ERROR, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.banner.text() == (
        f"Export failed: cannot use {export / 'model.onnx'}: No space left on device (free some "
        "disk space or choose another disk); nothing was changed."
    )
    qtbot.waitUntil(dialog.export_button.isEnabled)
    assert sorted(p.name for p in export.iterdir()) == ["classifier.json", "model.onnx"]
    assert (export / "model.onnx").read_text() == "the previous model.onnx"
    assert temp_files(tmp_path) == []  # the folder it was built in is gone


def test_batch_output_that_fills_the_disk_keeps_the_previous_output(
    trained_window, qtbot, tmp_path, monkeypatch
):
    import pandas as pd

    def fill_the_disk(frame, out, **kwargs):  # a full disk fails the write() of a chunk
        out.write("half a row,")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fill_the_disk)
    (tmp_path / "in.csv").write_text("text\nThe striker scored\n")
    output = tmp_path / "in-classified.csv"
    output.write_text("previous results\n")
    window = trained_window
    window.show_batch()
    dialog = window.batch_dialog
    assert dialog.set_input(tmp_path / "in.csv")
    dialog.start()
    qtbot.waitUntil(lambda: dialog.banner.kind is MessageKind.ERROR, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.banner.text() == (
        f"Classification failed: cannot use {output}: No space left on device (free some disk "
        "space or choose another disk); nothing was changed."
    )
    qtbot.waitUntil(dialog.start_button.isEnabled)
    assert output.read_text() == "previous results\n" and temp_files(tmp_path) == []
    assert dialog.report is None


def test_nothing_to_save_or_export_before_training(window):
    assert window.save_classifier() is None
    assert "train the classifier first" in window.banner.text()
    window.show_export()
    assert window.export_dialog is None and window.banner.kind is MessageKind.ERROR
    window.show_batch()
    assert window.batch_dialog is None and window.banner.kind is MessageKind.ERROR


def test_onnx_export_writes_files_that_load_back(trained_window, qtbot, tmp_path):
    from engine.onnx_predictor import OnnxClassifier

    window = trained_window
    window.show_export()
    dialog = window.export_dialog
    dialog.folder_edit.setText(str(tmp_path / "export"))
    dialog.int8_box.setChecked(True)
    dialog.export()
    qtbot.waitUntil(
        lambda: dialog.report is not None or dialog.banner.kind is MessageKind.ERROR,
        timeout=TRAINING_TIMEOUT_MS,
    )
    assert dialog.report is not None, dialog.banner.text()
    summary = dialog.summary.text()
    assert "model.onnx" in summary and "KB" in summary and "int8" in summary
    assert set(dialog.report.files) >= {"model.onnx", "tokenizer.json", "classifier.json"}
    onnx = OnnxClassifier.load(tmp_path / "export")
    text = "Knead the dough and bake the bread"
    assert onnx.labels == window.host.classifier.labels
    assert onnx.predict([text])[0] == window.host.classifier.predict(text)


def test_export_to_a_folder_that_holds_other_files_is_refused(trained_window, qtbot, tmp_path):
    window = trained_window
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep me")
    window.show_export()
    dialog = window.export_dialog
    dialog.folder_edit.setText(str(tmp_path / "busy"))
    dialog.export()
    qtbot.waitUntil(lambda: dialog.banner.kind is MessageKind.ERROR, timeout=TRAINING_TIMEOUT_MS)
    assert "not an earlier ONNX export" in dialog.banner.text()
    assert (tmp_path / "busy" / "mine.txt").read_text() == "keep me"


def test_batch_classify_writes_the_right_rows(trained_window, qtbot, tmp_path):
    window = trained_window
    source = tmp_path / "incoming.csv"
    texts = ["The team won the cup", "", "Simmer the soup slowly", "Interest rates rose again"]
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "message"])
        writer.writerows([[i, t] for i, t in enumerate(texts)])
    window.show_batch()
    dialog = window.batch_dialog
    assert dialog.set_input(source)
    assert dialog.column_combo.currentText() == "message"
    assert dialog.preview_model.rowCount() == 4
    assert dialog.output_edit.text() == str(tmp_path / "incoming-classified.csv")
    dialog.start()
    qtbot.waitUntil(
        lambda: dialog.report is not None or dialog.banner.kind is MessageKind.ERROR,
        timeout=TRAINING_TIMEOUT_MS,
    )
    assert dialog.report is not None, dialog.banner.text()
    assert dialog.open_folder_button.isVisible() and "rows/s" in dialog.rate.text()
    with (tmp_path / "incoming-classified.csv").open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert [row["message"] for row in written] == texts
    assert [row["id"] for row in written] == ["0", "1", "2", "3"]
    expected = window.host.classifier.predict([t for t in texts if t])
    assert [row["predicted_label"] for row in written if row["message"]] == expected
    assert written[1]["predicted_label"] == ""


def test_batch_classify_bad_inputs(trained_window, qtbot, tmp_path):
    window = trained_window
    window.show_batch()
    dialog = window.batch_dialog
    (tmp_path / "empty.csv").write_text("")
    assert not dialog.set_input(tmp_path / "empty.csv")
    assert "is empty" in dialog.banner.text()
    dialog.start()
    assert "Choose the file to classify first" in dialog.banner.text()
    (tmp_path / "ok.csv").write_text("text\nhello\n")
    assert dialog.set_input(tmp_path / "ok.csv")
    dialog.output_edit.setText(str(tmp_path / "out.xlsx"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.banner.kind is MessageKind.ERROR, timeout=30_000)
    assert "Cannot write `out.xlsx`" in dialog.banner.text() and dialog.report is None
    assert dialog.start_button.isEnabled()


def test_batch_classify_cancel_writes_nothing(trained_window, qtbot, tmp_path):
    window = trained_window
    source = tmp_path / "many.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([[f"Sentence number {i} about a football match"] for i in range(20_000)])
    window.show_batch()
    dialog = window.batch_dialog
    assert dialog.set_input(source)
    dialog.start()
    qtbot.waitUntil(lambda: "rows/s" in dialog.rate.text(), timeout=TRAINING_TIMEOUT_MS)
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=TRAINING_TIMEOUT_MS)
    assert "Cancelled" in dialog.banner.text() and dialog.report is None
    assert not (tmp_path / "many-classified.csv").exists()


# ---- importing files as people have them ------------------------------------------------
FRENCH = [
    ("id", "texte", "label"),
    ("1", "Un café crème", "drinks"),
    ("2", "Crème brûlée", "dessert"),
    ("3", "Thé glacé", "drinks"),
]


def test_import_a_multi_sheet_workbook_by_choosing_the_sheet(window, tmp_path):
    import pandas as pd

    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"note": ["Examples are on the next sheet"]}).to_excel(
            book, sheet_name="Read me", index=False
        )
        pd.DataFrame({"sentence": ["Whisk the eggs", "Stocks fell"], "topic": ["a", "b"]}).to_excel(
            book, sheet_name="Examples", index=False
        )
    window.importer.import_file(path)
    dialog = window.importer.dialog
    row = dialog.format_row
    assert row.sheet_combo.isVisibleTo(dialog) and not row.delimiter_combo.isVisibleTo(dialog)
    assert [row.sheet_combo.itemText(i) for i in range(2)] == ["Read me", "Examples"]
    assert row.sheet_combo.currentText() == "Read me" and dialog.text_column == "note"
    row.sheet_combo.setCurrentText("Examples")
    assert (dialog.text_column, dialog.label_column) == ("sentence", "topic")
    assert dialog.preview_model.rowCount() == 2
    dialog.accept()
    assert rows(window) == [("Whisk the eggs", "a"), ("Stocks fell", "b")]


@pytest.mark.parametrize(
    "name, delimiter, encoding, detected",
    [
        ("semicolon.csv", ";", "utf-8", "UTF-8"),
        ("latin1.csv", ",", "latin-1", "cp1252"),  # the same bytes for these characters
        ("excel-unicode.csv", "\t", "utf-16", "UTF-16"),  # Excel's "Unicode text", renamed
    ],
)
def test_import_csv_as_saved_by_other_programs(
    window, tmp_path, name, delimiter, encoding, detected
):
    path = write_rows(tmp_path / name, FRENCH, delimiter, encoding)
    window.importer.import_file(path)
    dialog = window.importer.dialog
    row = dialog.format_row
    assert row.delimiter_combo.currentData() == delimiter
    assert row.encoding_combo.currentText() == detected
    assert not row.sheet_combo.isVisibleTo(dialog)
    assert dialog.preview_model.columnCount() == 3
    assert (dialog.text_column, dialog.label_column) == ("texte", "label")
    dialog.accept()
    assert rows(window) == [(text, label) for _, text, label in FRENCH[1:]]


def test_changing_the_delimiter_or_encoding_reads_the_file_again(window, tmp_path):
    path = write_rows(tmp_path / "windows.csv", FRENCH, ";", "cp1252")
    window.importer.import_file(path)
    dialog = window.importer.dialog
    row = dialog.format_row
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    row.delimiter_combo.setCurrentIndex(row.delimiter_combo.findData(","))
    assert dialog.preview_model.columnCount() == 1 and dialog.text_column == "id;texte;label"
    row.delimiter_combo.setCurrentIndex(row.delimiter_combo.findData(";"))
    assert dialog.preview_model.columnCount() == 3 and dialog.text_column == "texte"
    row.encoding_combo.setCurrentIndex(row.encoding_combo.findData("utf-8"))
    assert dialog.banner.kind is MessageKind.ERROR and "not valid UTF-8" in dialog.banner.text()
    assert not ok.isEnabled() and dialog.preview_model.rowCount() == 0
    row.encoding_combo.setCurrentIndex(row.encoding_combo.findData("latin-1"))
    assert ok.isEnabled() and dialog.preview_model.rowCount() == 3
    dialog.accept()
    assert rows(window)[1] == ("Crème brûlée", "dessert")


def test_doubtful_columns_are_a_warning_not_a_refusal(window, tmp_path):
    lines = [("id", "text")] + [(str(i), f"Message number {i}") for i in range(30)]
    path = write_rows(tmp_path / "ids.csv", lines, ",", "utf-8")
    window.importer.import_file(path)
    dialog = window.importer.dialog
    dialog.set_columns("text", "id")
    assert dialog.banner.kind is MessageKind.WARNING
    assert "The class column 'id' has 30 different values in 30 rows" in dialog.banner.text()
    dialog.set_columns("id", None)
    assert "holds only numbers" in dialog.banner.text()
    dialog.set_columns("text", None)
    assert dialog.banner.text() == ""
    dialog.set_columns("text", "id")
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.accept()
    assert len(rows(window)) == 30


def test_batch_reads_the_file_as_detected_or_chosen(trained_window, qtbot, tmp_path):
    window = trained_window
    lines = [("n", "message")] + [(str(i), t) for i, t in enumerate(["Le café", "The team won"])]
    source = write_rows(tmp_path / "incoming.csv", lines, ";", "cp1252")
    window.show_batch()
    dialog = window.batch_dialog
    assert dialog.set_input(source)
    row = dialog.format_row
    assert (row.delimiter_combo.currentData(), row.encoding_combo.currentData()) == (";", "cp1252")
    assert dialog.column_combo.currentText() == "message"
    row.delimiter_combo.setCurrentIndex(row.delimiter_combo.findData("|"))
    assert dialog.preview_model.columnCount() == 1
    row.delimiter_combo.setCurrentIndex(row.delimiter_combo.findData(";"))
    assert (
        dialog.preview_model.columnCount() == 2 and dialog.column_combo.currentText() == "message"
    )
    dialog.start()
    assert dialog.rate.text() == "Reading the file…"
    qtbot.waitUntil(
        lambda: dialog.report is not None or dialog.banner.kind is MessageKind.ERROR,
        timeout=TRAINING_TIMEOUT_MS,
    )
    assert dialog.report is not None, dialog.banner.text()
    with (tmp_path / "incoming-classified.csv").open(encoding="utf-8") as handle:
        assert [row["message"] for row in csv.DictReader(handle)] == ["Le café", "The team won"]


def test_batch_progress_says_what_it_is_doing(trained_window):
    window = trained_window
    window.show_batch()
    dialog = window.batch_dialog
    dialog._progressed("Reading the file", 0, 5_000, {})
    assert dialog.rate.text() == "Reading the file…"
    dialog._progressed("Classifying rows", 1_234, 5_000, {"rows/s": 300.4})
    assert dialog.rate.text() == "Classifying: 1,234 of 5,000 rows (300 rows/s)"
    assert (dialog.progress.value(), dialog.progress.maximum()) == (1_234, 5_000)
