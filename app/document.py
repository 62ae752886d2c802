"""The open project as the GUI sees it: examples, classes, settings, classifier, undo history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoStack

from app.class_list_model import ClassListModel
from app.commands.insert_examples import InsertExamplesCommand
from app.commands.relabel_examples import RelabelExamplesCommand
from app.commands.remove_examples import RemoveExamplesCommand
from app.commands.set_classes import SetClassesCommand
from app.example_table_model import ExampleTableModel

if TYPE_CHECKING:  # imported lazily: the engine loads in the background after the window shows
    from engine.evaluation import QualityReport
    from engine.project import Example, Project, ProjectSettings


class Document(QObject):
    """Every edit goes through a method here and becomes one undoable step (a macro when it
    touches both classes and examples). Training results are not edits: they mark the
    document modified but are not undone."""

    changed = Signal()  # anything that would be saved changed (title, autosave)
    classifier_changed = Signal()  # a new classifier file or quality estimate (or none)
    loaded = Signal()  # a whole project replaced the previous one

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.examples = ExampleTableModel(self.undo_stack, self)
        self.classes = ClassListModel(self)
        self.settings: ProjectSettings | None = None
        self.classifier_file: bytes | None = None
        self.quality: QualityReport | None = None
        self.path: Path | None = None
        self._modified_outside_undo = False
        for signal in (
            self.examples.rowsInserted,
            self.examples.rowsRemoved,
            self.examples.dataChanged,
            self.examples.modelReset,
            self.classes.modelReset,
        ):
            signal.connect(self._recount)
        self.undo_stack.indexChanged.connect(self.changed)

    # ---- whole documents --------------------------------------------------------------
    def load(self, project: Project, path: Path | None) -> None:
        self.undo_stack.clear()
        self.classes.set_classes(project.classes)
        self.examples.reset(project.examples)
        self.settings = project.settings
        self.classifier_file = project.classifier_file
        self.quality = project.quality
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

    def set_classifier(self, file_bytes: bytes | None, quality: QualityReport | None) -> None:
        self.classifier_file, self.quality = file_bytes, quality
        self._modified_outside_undo = True
        self.classifier_changed.emit()
        self.changed.emit()

    def set_quality(self, quality: QualityReport | None) -> None:
        self.set_classifier(self.classifier_file, quality)

    # ---- reading ----------------------------------------------------------------------
    def class_names(self) -> list[str]:
        return self.classes.classes()

    def training_examples(self) -> tuple[list[str], list[str], int]:
        """(texts, labels, rows skipped): rows with empty text or no class are left out."""
        texts, labels, skipped = [], [], 0
        for example in self.examples.examples():
            if example.text.strip() and example.label:
                texts.append(example.text)
                labels.append(example.label)
            else:
                skipped += 1
        return texts, labels, skipped

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
        return len(examples), self.add_examples(examples, f"Paste {len(examples)} example(s)")

    def add_empty_example(self, label: str, row: int | None = None) -> int:
        from engine.project import Example

        row = self.examples.rowCount() if row is None else row
        self.add_examples([Example("", label)], "Add example", row)
        return row

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
    def _recount(self) -> None:
        from engine.project import Project

        self.classes.set_counts(Project(self.class_names(), self.examples.examples()).counts())
