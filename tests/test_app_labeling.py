"""Labeling with the model: the Unlabeled pool, Label next's keys, and retraining as you go."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

from conftest import HELD_OUT, TOPICS
from PySide6.QtCore import Qt
from test_app_support import (  # noqa: F401 - fixtures used by name
    TRAINING_TIMEOUT_MS,
    answers,
    loaded_model,
    one_torch_thread,
    topic_project,
    window,
)

POOL = [text for text, _ in HELD_OUT]


def examples(window) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in window.document.examples.examples()]


def suggestions_ready(window) -> bool:
    pool = window.document.pool
    return not window.pool_panel.is_refreshing() and all(
        pool.suggestion(text) is not None for text in pool.texts()
    )


def test_cold_start_then_keys_accept_pick_skip_and_undo(window, qtbot):
    from engine.project import Project, ProjectSettings

    window.document.load(Project(list(TOPICS), [], ProjectSettings(max_length=32)), None)
    added = window.importer.add_pool_texts(POOL + ["", POOL[0]], "test")
    assert added == len(POOL)  # blanks and copies are left out
    assert window.middle.tabText(1) == f"Unlabeled ({len(POOL)})"
    qtbot.waitUntil(lambda: suggestions_ready(window), timeout=TRAINING_TIMEOUT_MS)
    assert "suggestions from the class names" in window.pool_panel.status.text()

    window.label_next()
    dialog = window.label_dialog
    first = dialog.current
    assert first == window.document.pool.queue()[0]
    suggested = window.document.pool.suggestion(first)[0]
    assert dialog.class_buttons.checkedButton().text().endswith(suggested)
    steps = window.document.undo_stack.count()

    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # accept the suggestion
    assert examples(window) == [(first, suggested)]
    assert first not in window.document.pool.texts()
    assert window.document.undo_stack.count() == steps + 1  # one undo step per label

    second = dialog.current
    qtbot.keyClick(dialog, Qt.Key.Key_2)  # the second class, whatever was suggested
    assert examples(window)[-1] == (second, list(TOPICS)[1])

    third = dialog.current
    qtbot.keyClick(dialog, Qt.Key.Key_S)
    assert dialog.current != third and third in window.document.pool.texts()
    assert len(examples(window)) == 2

    qtbot.keyClick(dialog, Qt.Key.Key_Backspace)  # undo the last label
    assert examples(window) == [(first, suggested)]
    assert second in window.document.pool.texts() and dialog.current == second
    assert dialog.counter.text().startswith("1 text labeled")
    dialog.close()


def test_labeling_retrains_in_the_background_and_try_it_uses_the_new_classifier(window, qtbot):
    window.document.load(topic_project(per_class=2), None)
    window.importer.add_pool_texts(POOL, "test")
    qtbot.waitUntil(lambda: suggestions_ready(window), timeout=TRAINING_TIMEOUT_MS)
    window.label_next()
    dialog = window.label_dialog
    dialog.retrain_every = 3
    truth = dict(HELD_OUT)
    for _ in range(3):
        dialog.pick(list(TOPICS).index(truth[dialog.current]))
    assert window.train_panel.is_busy  # started by the third label, without blocking
    assert dialog.current is not None  # the next text is already on screen
    qtbot.waitUntil(lambda: window.host.classifier is not None, timeout=TRAINING_TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: (
            "from the classifier" in window.pool_panel.status.text() and suggestions_ready(window)
        ),
        timeout=TRAINING_TIMEOUT_MS,
    )
    assert window.document.model_state().current  # trained on the 6 + 3 labeled examples
    assert window.train_panel.status.text() == "Trained on 9 examples in 3 classes."
    window.try_panel.input.setPlainText("The goalkeeper saved a penalty")
    qtbot.waitUntil(lambda: "%" in window.try_panel.prediction.text(), timeout=30_000)
    assert window.try_panel.prediction.text().startswith("sports")
    dialog.close()


def test_the_pool_is_saved_with_the_project(window, qtbot, tmp_path, answers):
    window.document.load(topic_project(per_class=2), None)
    window.importer.add_pool_texts(POOL[:3], "test")
    answers["save_path"] = tmp_path / "with-pool.fewshot.json"
    assert window.session.save()
    window.session.new_project()
    assert window.document.pool.texts() == []
    assert window.session.open_project(tmp_path / "with-pool.fewshot.json")
    assert window.document.pool.texts() == POOL[:3]


def test_texts_to_label_come_from_txt_and_table_files(window, qtbot, tmp_path):
    window.document.load(topic_project(per_class=2), None)
    lines = tmp_path / "tickets.txt"
    lines.write_bytes("Caf\xe9 au lait recipe\n\nThe match ended in a draw\n".encode("cp1252"))
    window.importer.import_pool_file(lines)
    assert window.document.pool.texts() == ["Café au lait recipe", "The match ended in a draw"]
    table = tmp_path / "tickets.csv"
    table.write_text("id;message\n1;Stocks fell sharply\n2;Knead the dough\n", encoding="utf-8")
    window.importer.import_pool_file(table)
    dialog = window.importer.dialog
    assert dialog.text_column == "message"
    dialog.accept()
    assert window.document.pool.texts()[2:] == ["Stocks fell sharply", "Knead the dough"]
    window.document.undo_stack.undo()  # each import is one undo step
    assert len(window.document.pool.texts()) == 2


def test_try_it_says_unsure_below_the_threshold_the_estimate_chose(window, qtbot):
    from engine.classifier import Classifier

    window.document.load(topic_project(per_class=4), None)
    window.train_panel.train()
    qtbot.waitUntil(lambda: window.document.quality is not None, timeout=TRAINING_TIMEOUT_MS)
    classifier, quality = window.host.classifier, window.document.quality
    assert 0.5 < classifier.unsure_below == quality.unsure_below
    spin = window.try_panel.unsure_spin
    assert spin.value() == round(100 * quality.unsure_below)
    spin.setValue(99)
    spin.editingFinished.emit()
    assert classifier.unsure_below == 0.99
    window.try_panel.input.setPlainText("asdf qwerty")
    qtbot.waitUntil(lambda: "%" in window.try_panel.prediction.text(), timeout=30_000)
    assert window.try_panel.prediction.text().startswith("Unsure  ·  best guess ")
    saved = window.document.classifier_file  # the project keeps the adjusted threshold
    path = window.settings.last_folder + "/saved.safetensors"
    with open(path, "wb") as handle:
        handle.write(saved)
    model = window.host.model
    assert Classifier.load(path, backbone=model.backbone, meta=model.meta).unsure_below == 0.99
