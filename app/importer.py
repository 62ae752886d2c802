"""Examples and texts to label coming in: paste, and import from CSV, TSV, XLSX or TXT."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QGuiApplication

from app import prompts
from app.message_banner import MessageKind
from engine.training_state import plural

if TYPE_CHECKING:
    from app.import_dialog import ImportDialog
    from app.main_window import MainWindow
    from engine.tables import TableFormat


class Importer(QObject):
    """Turns clipboard text and files into examples (or pool texts), one undo step each, and
    says what came in; the import dialog it opens stays reachable as `dialog` (tests)."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window
        self._document, self._banner = window.document, window.banner
        self._settings = window.settings
        self.dialog: ImportDialog | None = None

    @Slot()
    def paste(self) -> None:
        self.paste_text(QGuiApplication.clipboard().text())

    def paste_text(self, text: str) -> int:
        if not text.strip():
            self._banner.show_error(
                "The clipboard holds no text. Copy lines of text (or text and class columns from a "
                "spreadsheet) first."
            )
            return 0
        first = self._document.examples.rowCount()
        count, new_classes = self._document.paste(text, self._window.classes_panel.current_class())
        self._window.examples_panel.select_rows(first, count)
        unlabeled = sum(not e.label for e in self._document.examples.examples()[first:])
        message = f"Pasted {plural(count, 'example')}."
        if new_classes:
            message += f" New classes: {', '.join(new_classes)}."
        if unlabeled:
            message += (
                f" {unlabeled} {'has' if unlabeled == 1 else 'have'} no class yet: choose one in "
                "the Class column, or select a "
                "class on the left before pasting."
            )
        kind = MessageKind.WARNING if unlabeled else MessageKind.SUCCESS
        self._banner.show_message(message, kind)
        return count

    @Slot()
    def import_file(self, path: Path | None = None) -> None:
        """Read a table and open the column picker (non-modal; it imports when accepted)."""
        from app.import_dialog import ImportDialog
        from engine.tables import TableError

        if not path:
            path = prompts.open_path(
                self._window, "Import examples", self._settings.last_folder, prompts.TABLE_FILTER
            )
            if path is None:
                return
        path = Path(path)
        try:
            dialog = ImportDialog.for_file(
                path, self._window.classes_panel.current_class(), self._window
            )
        except TableError as error:
            self._banner.show_error(f"Could not import: {error}")
            return
        self._settings.last_folder = str(path.parent)
        self.dialog = dialog
        dialog.accepted.connect(self._import_accepted)
        dialog.open()

    @Slot()
    def _import_accepted(self) -> None:
        dialog = self.dialog
        self.import_table(
            dialog.path, dialog.text_column, dialog.label_column, table_format=dialog.table_format
        )

    def import_table(
        self,
        path: Path,
        text_column: str,
        label_column: str | None = None,
        *,
        table_format: TableFormat | None = None,
    ) -> int:
        """Import rows of a table as examples (one undo step); returns how many were added.

        `table_format` says how to read the file (None: detect it, as the import dialog does).
        """
        from engine.project import examples_from_table
        from engine.tables import TableError, check_columns, read_table

        try:
            frame = read_table(path, table_format=table_format)
            check_columns(frame, [text_column] + ([label_column] if label_column else []), path)
        except TableError as error:
            self._banner.show_error(f"Could not import: {error}")
            return 0
        examples = examples_from_table(
            frame, text_column, label_column, self._window.classes_panel.current_class()
        )
        if not examples:
            self._banner.show_error(
                f"Could not import: the column {text_column!r} of {Path(path).name} is empty."
            )
            return 0
        first = self._document.examples.rowCount()
        new_classes = self._document.add_examples(
            examples, f"Import {len(examples)} examples from {Path(path).name}"
        )
        self._window.examples_panel.select_rows(first, len(examples))
        message = f"Imported {plural(len(examples), 'example')} from {Path(path).name}."
        if new_classes:
            more = " …" if len(new_classes) > 10 else ""
            message += f" New classes: {', '.join(new_classes[:10])}{more}."
        self._banner.show_message(message, MessageKind.SUCCESS)
        return len(examples)

    @Slot()
    def paste_pool(self) -> None:
        self.add_pool_texts(QGuiApplication.clipboard().text().splitlines(), "clipboard")

    def add_pool_texts(self, texts: list[str], source: str) -> int:
        added = self._document.add_pool_texts(texts, f"Add {plural(len(texts), 'text')} to label")
        if not added:
            self._banner.show_error(
                f"No new texts to label in the {source}: it is empty, or every text is already "
                "in the pool."
            )
            return 0
        self._window.middle.setCurrentWidget(self._window.pool_panel)
        self._banner.show_message(
            f"Added {plural(added, 'text')} to label from the {source}. Press Label next.",
            MessageKind.SUCCESS,
        )
        return added

    @Slot()
    def import_pool_file(self, path: Path | None = None) -> None:
        """Texts to label from a file: a .txt holds one per line; a table opens the column
        picker (its class column, if any, is not used: these texts are to be labeled)."""
        from app.import_dialog import ImportDialog
        from engine.tables import TableError, detect_format

        if not path:
            path = prompts.open_path(
                self._window,
                "Import texts to label",
                self._settings.last_folder,
                prompts.TABLE_FILTER,
            )
            if path is None:
                return
        path = Path(path)
        try:
            if path.suffix.lower() == ".txt":
                encoding = detect_format(path).encoding
                self.add_pool_texts(path.read_bytes().decode(encoding).splitlines(), path.name)
                return
            dialog = ImportDialog.for_file(path, "", self._window)
        except (TableError, OSError, UnicodeDecodeError) as error:
            self._banner.show_error(f"Could not import the texts: {error}")
            return
        dialog.setWindowTitle(f"Import texts to label from {path.name}")
        dialog.accepted.connect(lambda: self._pool_import_accepted(dialog))
        self.dialog = dialog
        dialog.open()

    def _pool_import_accepted(self, dialog) -> None:
        from engine.tables import TableError, read_table

        try:
            frame = read_table(dialog.path, table_format=dialog.table_format)
        except TableError as error:
            self._banner.show_error(f"Could not import the texts: {error}")
            return
        self.add_pool_texts(frame[dialog.text_column].tolist(), dialog.path.name)
