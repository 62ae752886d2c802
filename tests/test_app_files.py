"""Projects (save, open, autosave, restore) and what the app writes: classifier, ONNX, batch CSV."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import csv

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


@pytest.fixture
def trained_window(window, qtbot):
    window.document.load(topic_project(per_class=3), None)
    train_and_wait(qtbot, window)
    assert window.host.classifier is not None
    return window


def test_project_save_and_open_round_trip(trained_window, qtbot, tmp_path, answers):
    window = trained_window
    window.paste_text("An unsorted line")
    answers["save_path"] = tmp_path / "topics"
    assert window.save()
    path = tmp_path / "topics.fewshot.json"
    assert path.is_file() and window.document.path == path and not window.document.is_modified
    assert window.windowTitle() == "topics — Fewshot Studio"
    saved = (
        window.document.class_names(),
        window.document.examples.examples(),
        window.document.classifier_file,
    )
    labels = window.host.classifier.labels

    window.new_project()
    assert window.document.examples.rowCount() == 0 and window.host.classifier is None
    assert window.open_project(path)
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

    window.paste_text("text\tlabel-a")
    answers["unsaved_changes"] = prompts.UnsavedChoice.CANCEL
    window.new_project()
    assert window.document.examples.rowCount() == 1
    answers["unsaved_changes"] = prompts.UnsavedChoice.SAVE
    answers["save_path"] = tmp_path / "kept.fewshot.json"
    window.new_project()
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
    window.paste_text("still here\tkept")
    path = tmp_path / "broken.fewshot.json"
    path.write_text(content)
    assert not window.open_project(path, ask=False)
    assert window.banner.kind is MessageKind.ERROR and message in window.banner.text()
    assert window.document.examples.rowCount() == 1


def test_autosave_and_the_offer_to_restore(window, qtbot, answers, loaded_model):
    from app.main_window import MainWindow

    window.paste_text("unsaved work\tdraft")
    window.autosave()
    assert autosave_path().is_file()
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
