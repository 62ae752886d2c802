"""The open project as the GUI sees it: examples, classes, settings, classifier, undo history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoStack

from app.class_list_model import ClassListModel
from app.commands.edit_pool import AddPoolTextsCommand, RemovePoolTextsCommand
from app.commands.insert_examples import InsertExamplesCommand
from app.commands.relabel_examples import RelabelExamplesCommand
from app.commands.remove_examples import RemoveExamplesCommand
from app.commands.set_classes import SetClassesCommand
from app.example_table_model import ExampleTableModel
from app.pool_model import PoolModel
from engine.training_state import ModelState, TrainedOn, model_state, plural, training_pairs

if TYPE_CHECKING:  # imported lazily: the engine loads in the background after the window shows
    from engine.evaluation import QualityReport
    from engine.project import Example, Project, ProjectSettings


class Document(QObject):
    """Every edit goes through a method here and becomes one undoable step (a macro when it
    touches both classes and examples). Training results are not edits: they mark the
    document modified but are not undone."""

    changed = Signal()  # anything that would be saved changed (title, autosave)
    classifier_changed = Signal()  # a new classifier file or quality estimate (or none)
    state_changed = Signal()  # model_state() may read differently: examples or classifier
    loaded = Signal()  # a whole project replaced the previous one

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.examples = ExampleTableModel(self.undo_stack, self)
        self.classes = ClassListModel(self)
        self.pool = PoolModel(self)
        self.settings: ProjectSettings | None = None
        self.classifier_file: bytes | None = None
        self.quality: QualityReport | None = None
        self.trained_on: TrainedOn | None = None
        self.path: Path | None = None
        self._state: ModelState | None = None  # model_state(), until state_changed
        self._modified_outside_undo = False
        for signal in (
            self.examples.rowsInserted,
            self.examples.rowsRemoved,
            self.examples.dataChanged,
            self.examples.modelReset,
            self.classes.modelReset,
        ):
            signal.connect(self._recount)
            signal.connect(self._forget_state)  # also mid-macro, before indexChanged
        self.state_changed.connect(self._forget_state)  # first: every view reads it after
        self.undo_stack.indexChanged.connect(self.changed)
        self.undo_stack.indexChanged.connect(self.state_changed)
        self.classifier_changed.connect(self.state_changed)
        self.classifier_changed.connect(self._review)

    # ---- whole documents --------------------------------------------------------------
    def load(self, project: Project, path: Path | None) -> None:
        self._state = None
        self.undo_stack.clear()
        self.classes.set_classes(project.classes)
        self.examples.reset(project.examples)
        self.pool.reset(project.pool)
        self.settings = project.settings
        self.classifier_file = project.classifier_file
        self.quality = project.quality
        self.trained_on = project.trained_on
        self.path = path
        self.undo_stack.setClean()
        self._modified_outside_undo = False
        self.loaded.emit()
        self.classifier_changed.emit()
        self.changed.emit()

    def to_project(self) -> Project:
        from engine.project import Project

        return Project(
            classes=self.classes.classes(),
            examples=self.examples.examples(),
            settings=self.settings,
            classifier_file=self.classifier_file,
            quality=self.quality,
            trained_on=self.trained_on,
            pool=self.pool.texts(),
        )

    @property
    def is_modified(self) -> bool:
        return self._modified_outside_undo or not self.undo_stack.isClean()

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.undo_stack.setClean()
        self._modified_outside_undo = False
        self.changed.emit()

    def mark_modified(self) -> None:
        self._modified_outside_undo = True
        self.changed.emit()

    def title(self) -> str:
        name = self.path.name.removesuffix(".fewshot.json") if self.path else "Untitled"
        return f"{name}{' *' if self.is_modified else ''}"

    def set_settings(self, settings: ProjectSettings) -> None:
        if settings != self.settings:
            self.settings = settings
            self._modified_outside_undo = True
            self.changed.emit()
            self.state_changed.emit()

    def set_classifier(self, file_bytes: bytes, trained_on: TrainedOn) -> None:
        """A new classifier: its quality estimate comes later (set_quality), or never."""
        self.classifier_file, self.trained_on, self.quality = file_bytes, trained_on, None
        self._modified_outside_undo = True
        self.classifier_changed.emit()
        self.changed.emit()

    def set_quality(self, quality: QualityReport | None, file_bytes: bytes | None = None) -> None:
        """The estimate of the current classifier; `file_bytes`: that classifier re-saved
        with what the estimate set on it (its unsure threshold)."""
        self.quality = quality
        if file_bytes is not None:
            self.classifier_file = file_bytes
        self._modified_outside_undo = True
        self.classifier_changed.emit()
        self.changed.emit()

    # ---- reading ----------------------------------------------------------------------
    def class_names(self) -> list[str]:
        return self.classes.classes()

    def training_examples(self) -> tuple[list[str], list[str], int]:
        """(texts, labels, rows skipped): rows with empty text or no class are left out."""
        return training_pairs(self.examples.examples())

    def model_state(self) -> ModelState:
        """The one description of the classifier that every view shows (computed once per
        change: it compares every example with the trained ones)."""
        if self._state is None:
            texts, labels, _ = self.training_examples()
            self._state = model_state(
                self.classifier_file is not None,
                self.trained_on,
                texts,
                labels,
                self.settings or {},
                self.class_names(),
            )
        return self._state

    @Slot()
    def _forget_state(self) -> None:
        self._state = None

    # ---- edits (each one undoable) ----------------------------------------------------
    def add_examples(
        self, examples: list[Example], description: str, row: int | None = None
    ) -> list[str]:
        """Insert examples (at the end by default); unknown labels become new classes, returned."""
        if not examples:
            return []
        known = self.class_names()
        new = list(dict.fromkeys(e.label for e in examples if e.label and e.label not in known))
        row = self.examples.rowCount() if row is None else row
        self.undo_stack.beginMacro(description)
        if new:
            self.undo_stack.push(SetClassesCommand(self.classes, known + new))
        self.undo_stack.push(InsertExamplesCommand(self.examples, row, examples, description))
        self.undo_stack.endMacro()
        return new

    def paste(self, text: str, selected_class: str) -> tuple[int, list[str]]:
        """Add clipboard lines; returns (examples added, classes created)."""
        from engine.project import parse_pasted_examples

        examples = parse_pasted_examples(text, selected_class)
        return len(examples), self.add_examples(
            examples, f"Paste {plural(len(examples), 'example')}"
        )

    def add_empty_example(self, label: str, row: int | None = None) -> int:
        from engine.project import Example

        row = self.examples.rowCount() if row is None else row
        self.add_examples([Example("", label)], "Add example", row)
        return row

    def add_pool_texts(self, texts: list[str], description: str) -> int:
        """Add unlabeled texts (blank ones and those already in the pool are left out)."""
        known = set(self.pool.texts())
        texts = [t for t in dict.fromkeys(t.strip() for t in texts) if t and t not in known]
        if texts:
            self.undo_stack.push(AddPoolTextsCommand(self.pool, texts, description))
        return len(texts)

    def label_from_pool(self, text: str, label: str) -> None:
        """Move a pool text into the examples with `label`: one undo step."""
        from engine.project import Example

        position = self.pool.texts().index(text)
        self.undo_stack.beginMacro(f"Label {text[:30]!r} as {label!r}")
        self.undo_stack.push(RemovePoolTextsCommand(self.pool, [position]))
        self.add_examples([Example(text, label)], "Add the labeled text")
        self.undo_stack.endMacro()

    def remove_rows(self, rows: list[int]) -> None:
        if rows:
            self.undo_stack.push(RemoveExamplesCommand(self.examples, rows))

    def add_class(self, name: str) -> None:
        name = self._check_new_name(name)
        self.undo_stack.push(
            SetClassesCommand(self.classes, self.class_names() + [name], f"Add class {name!r}")
        )

    def rename_class(self, old: str, new: str) -> None:
        new = self._check_new_name(new)
        classes = [new if c == old else c for c in self.class_names()]
        self.undo_stack.beginMacro(f"Rename class {old!r} to {new!r}")
        self.undo_stack.push(SetClassesCommand(self.classes, classes))
        self.undo_stack.push(RelabelExamplesCommand(self.examples, {old: new}))
        self.undo_stack.endMacro()

    def delete_class(self, name: str) -> int:
        """Delete a class and its examples (one undo step); returns how many examples went."""
        rows = self.examples.rows_with_label(name)
        self.undo_stack.beginMacro(f"Delete class {name!r}")
        if rows:
            self.undo_stack.push(RemoveExamplesCommand(self.examples, rows))
        classes = [c for c in self.class_names() if c != name]
        self.undo_stack.push(SetClassesCommand(self.classes, classes))
        self.undo_stack.endMacro()
        return len(rows)

    def merge_classes(self, sources: list[str], target: str) -> None:
        """Move every example of `sources` to `target` and drop the source classes."""
        sources = [s for s in sources if s != target]
        if not sources:
            return
        self.undo_stack.beginMacro(f"Merge {', '.join(sources)} into {target!r}")
        self.undo_stack.push(RelabelExamplesCommand(self.examples, dict.fromkeys(sources, target)))
        classes = [c for c in self.class_names() if c not in sources]
        self.undo_stack.push(SetClassesCommand(self.classes, classes))
        self.undo_stack.endMacro()

    def _check_new_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError('A class needs a name: type one, e.g. "complaint".')
        if name in self.class_names():
            raise ValueError(f"There is already a class called {name!r}: choose another name.")
        return name

    @Slot()
    def _review(self) -> None:
        """Flag the examples the quality estimate got wrong (in the Check column)."""
        quality, trained = self.quality, self.trained_on
        mispredicted = {}
        if quality is not None and trained is not None:
            if len(quality.predicted) == len(trained.examples):
                for (text, label), guess in zip(trained.examples, quality.predicted, strict=True):
                    if guess != label:
                        mispredicted[(text, label)] = guess
        self.examples.set_mispredicted(mispredicted)

    @Slot()
    def _recount(self) -> None:
        from engine.project import Project

        self.classes.set_counts(Project(self.class_names(), self.examples.examples()).counts())
