"""Import examples from a CSV, TSV or Excel file: check how it is read, pick the columns."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.column_guess import guess_label_column, guess_text_column
from app.message_banner import MessageBanner, MessageKind
from app.table_format_row import TableFormatRow
from app.table_preview_model import TablePreviewModel, fit_columns
from engine.tables import (
    DetectedFormat,
    TableError,
    TableFormat,
    column_warnings,
    detect_format,
    read_table,
)

PREVIEW_ROWS = 50


def read_rows(path: Path, table_format: TableFormat):
    """The whole table (the summary counts every row); TableError also when it has no rows."""
    frame = read_table(path, table_format=table_format)
    if frame.empty or not len(frame.columns):
        raise TableError(f"`{path.name}` has a header row but no rows of data.")
    return frame


class ImportDialog(QDialog):
    """Shown non-modally (open()); the caller reads text_column, label_column and table_format
    on accepted. `for_file` makes one for a file, reading it as detected."""

    @classmethod
    def for_file(
        cls, path: Path, default_class: str, parent: QWidget | None = None
    ) -> ImportDialog:
        """Raises TableError when the file cannot be read as detected, or has no rows."""
        path = Path(path)
        detected = detect_format(path)
        return cls(path, detected, read_rows(path, detected), default_class, parent)

    def __init__(
        self,
        path: Path,
        detected: DetectedFormat,
        frame,
        default_class: str,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.path = Path(path)
        self._frame = frame  # a pandas DataFrame of strings (engine.tables.read_table); or None
        self._default_class = default_class
        self.setWindowTitle(f"Import examples from {self.path.name}")
        self.setAccessibleName("Import examples")
        self.resize(760, 540)

        self.banner = MessageBanner()
        self.intro = QLabel()
        self.format_row = TableFormatRow()
        self.format_row.set_detected(detected)
        self.format_row.changed.connect(self._reread)
        self.text_combo = QComboBox()
        self.text_combo.setAccessibleName("Text column")
        self.text_combo.setToolTip("The column holding the texts to learn from")
        self.label_combo = QComboBox()
        self.label_combo.setAccessibleName("Class column")
        self.label_combo.setToolTip("The column holding each text's class, if the file has one")
        form = QFormLayout()
        form.addRow("Read as:", self.format_row)
        form.addRow("Text column:", self.text_combo)
        form.addRow("Class column:", self.label_combo)

        self.preview_model = TablePreviewModel(self)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setAccessibleName("Preview of the file")
        self.preview.setWordWrap(False)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)

        self._show_table(frame)
        self.text_combo.currentIndexChanged.connect(self._update)
        self.label_combo.currentIndexChanged.connect(self._update)

    @property
    def text_column(self) -> str:
        return self.text_combo.currentText()

    @property
    def label_column(self) -> str | None:
        return self.label_combo.currentData()

    @property
    def table_format(self) -> TableFormat:
        """How the file was last read: pass it on to read the same columns again."""
        return self.format_row.table_format()

    def set_columns(self, text_column: str | None, label_column: str | None) -> None:
        if text_column is not None:
            self.text_combo.setCurrentText(text_column)
        position = self.label_combo.findData(label_column) if label_column else 0
        self.label_combo.setCurrentIndex(max(position, 0))
        self._update()

    def _show_table(self, frame) -> None:
        """Fill the column pickers and the preview from `frame`, keeping the chosen columns
        when the new reading still has them."""
        self._frame = frame
        columns = [str(c) for c in frame.columns]
        rows = frame.head(PREVIEW_ROWS).astype(str).values.tolist()
        if self.text_column in columns:
            text_column = self.text_column
            label_column = self.label_column if self.label_column in columns else None
        else:
            text_column = guess_text_column(columns, rows)
            label_column = guess_label_column(columns, text_column)
        self.intro.setText(f"<b>{self.path.name}</b>: {len(frame):,} rows, {len(columns)} columns.")
        for combo in (self.text_combo, self.label_combo):
            combo.blockSignals(True)
            combo.clear()
        self.text_combo.addItems(columns)
        no_label = (
            f"(none: use the selected class {self._default_class!r})"
            if self._default_class
            else "(none: no class yet)"
        )
        self.label_combo.addItem(no_label, None)
        for column in columns:
            self.label_combo.addItem(column, column)
        for combo in (self.text_combo, self.label_combo):
            combo.blockSignals(False)
        self.preview_model.set_table(columns, rows)
        fit_columns(self.preview)
        self.set_columns(text_column, label_column)

    @Slot()
    def _reread(self) -> None:
        """Read the file again as the user now says (the delimiter, encoding or sheet)."""
        try:
            frame = read_rows(self.path, self.format_row.table_format())
        except TableError as error:
            self._frame = None
            self.preview_model.set_table([], [])
            self.summary.clear()
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            self.banner.show_error(str(error))
            return
        self._show_table(frame)

    @Slot()
    def _update(self) -> None:
        if self._frame is None:
            return
        columns = {self.text_column} | ({self.label_column} if self.label_column else set())
        self.preview_model.set_highlighted(columns)
        texts = self._frame[self.text_column].astype(str)
        empty = int((texts.str.strip() == "").sum())
        if self.label_column:
            counts = Counter(self._frame[self.label_column].astype(str).str.strip())
            counts.pop("", None)
            classes = ", ".join(f"{name} ({n})" for name, n in counts.most_common(6))
            more = f" and {len(counts) - 6} more" if len(counts) > 6 else ""
            text = f"{len(texts) - empty:,} examples in {len(counts)} classes: {classes}{more}."
        else:
            goes_to = f"class {self._default_class!r}" if self._default_class else "no class yet"
            text = f"{len(texts) - empty:,} examples, all to {goes_to}."
        if empty:
            text += f" {empty} row(s) with an empty text will be skipped."
        self.summary.setText(text)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(len(texts) > empty)
        warnings = column_warnings(self._frame, self.text_column, self.label_column)
        if len(texts) == empty:
            self.banner.show_error(
                f"The column {self.text_column!r} has no text in any row: pick another."
            )
        elif warnings:
            self.banner.show_message(" ".join(warnings), MessageKind.WARNING)
        else:
            self.banner.clear()
