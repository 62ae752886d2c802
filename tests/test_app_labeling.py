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


def test_cross_validation_mistakes_are_flagged_and_a_matrix_cell_filters_them(window, qtbot):
    from engine.project import Example

    project = topic_project(per_class=5)
    wrong = "Whisk the eggs with sugar and flour, then bake the cake in the oven"
    project.examples.append(Example(wrong, "sports"))  # a cooking text with the wrong class
    window.document.load(project, None)
    window.train_panel.train()
    qtbot.waitUntil(lambda: window.document.quality is not None, timeout=TRAINING_TIMEOUT_MS)
    model = window.document.examples
    row = len(project.examples) - 1
    guess = window.document.quality.predicted[row]
    assert guess != "sports"
    assert model.index(row, 2).data() == f"Predicted {guess} in cross-validation"

    classes = window.document.quality.classes
    view = window.train_panel.quality.table
    view.cellClicked.emit(classes.index("sports"), classes.index(guess))
    panel = window.examples_panel
    assert panel.is_filtered() and "predicted as" in panel.filter_note.text()
    shown = [r for r in range(model.rowCount()) if not panel.view.isRowHidden(r)]
    assert row in shown and all(model.example(r).label == "sports" for r in shown)
    panel.show_all_button.click()
    assert not panel.is_filtered() and not any(
        panel.view.isRowHidden(r) for r in range(model.rowCount())
    )


def test_the_least_certain_batch_rows_come_back_for_labeling(window, qtbot, tmp_path):
    import pandas as pd

    window.document.load(topic_project(per_class=3), None)
    window.train_panel.train()
    qtbot.waitUntil(lambda: window.host.classifier is not None, timeout=TRAINING_TIMEOUT_MS)
    source = tmp_path / "incoming.csv"
    texts = POOL + ["asdf qwerty", "The", "Things happened on Tuesday"]
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(source, index=False)
    window.show_batch()
    batch = window.batch_dialog
    assert batch.set_input(source)
    batch.start()
    qtbot.waitUntil(lambda: batch.report is not None, timeout=TRAINING_TIMEOUT_MS)
    assert batch.review_button.isVisible()
    batch.review_button.click()
    assert sorted(window.document.pool.texts()) == sorted(texts)  # fewer rows than REVIEW_ROWS
    assert window.label_dialog is not None and window.label_dialog.isVisible()
    window.label_dialog.close()


def test_least_certain_texts_come_lowest_confidence_first(tmp_path):
    from engine.batch import least_certain_texts

    out = tmp_path / "out.csv"
    pd_rows = "text,confidence\na,0.9\nb,0.4\n,\nc,0.6\nd,0.99\n"
    out.write_text(pd_rows, encoding="utf-8")
    assert least_certain_texts(out, "text", 2) == ["b", "c"]
    assert least_certain_texts(out, "text", 10) == ["b", "c", "a", "d"]


def test_a_retrained_classifier_ranks_the_pool_at_once_on_the_kept_features(
    window, qtbot, monkeypatch
):
    import numpy as np

    import app.pool_panel

    monkeypatch.setattr(app.pool_panel, "FIRST_CANDIDATES", 4)  # exact first for 4, then all

    from engine.classifier import Classifier

    window.document.load(topic_project(per_class=2), None)
    window.train_panel.train()
    qtbot.waitUntil(lambda: window.host.classifier is not None, timeout=TRAINING_TIMEOUT_MS)
    window.importer.add_pool_texts(POOL, "test")
    qtbot.waitUntil(
        lambda: "from the classifier" in window.pool_panel.status.text(),
        timeout=TRAINING_TIMEOUT_MS,
    )
    kept = dict(window.pool_panel._vectors)
    model = window.host.model
    texts, labels, _ = window.document.training_examples()
    newer = Classifier(model.backbone, model.meta, max_length=32).fit(texts[::-1], labels[::-1])
    window.host.set_classifier(newer)  # refreshes the pool: early ranking first, in this thread
    assert window.pool_panel.is_refreshing()
    features = np.stack([kept[text] for text in POOL])
    expected = newer.probabilities_of(features).max(1)
    shown = [window.document.pool.suggestion(text)[1] for text in POOL]
    assert np.allclose(shown, expected, atol=1e-6)
    qtbot.waitUntil(lambda: not window.pool_panel.is_refreshing(), timeout=TRAINING_TIMEOUT_MS)
    exact = newer.predict_proba(POOL).max(1)  # in the end every text is ranked exactly
    shown = [window.document.pool.suggestion(text)[1] for text in POOL]
    assert np.allclose(shown, exact, atol=1e-4)
