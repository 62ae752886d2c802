"""One row of combos for how a table file is read: its sheet, or its delimiter and encoding."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.tables import DELIMITERS, ENCODINGS, DetectedFormat, TableFormat


class TableFormatRow(QWidget):
    """Sheet (workbooks only), or delimiter and encoding (text tables only), preselected from
    the detected format; `changed` fires when the user picks another value."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._workbook = False
        self.sheet_combo = self._combo("Sheet", "The sheet of the workbook to read")
        self.delimiter_combo = self._combo("Delimiter", "The character between the columns")
        for character, name in DELIMITERS.items():
            self.delimiter_combo.addItem(name.capitalize(), character)
        self.encoding_combo = self._combo("Encoding", "How the file's characters are stored")
        for codec, name in ENCODINGS.items():
            self.encoding_combo.addItem(name, codec)
        self._labels: dict[QComboBox, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for combo in (self.sheet_combo, self.delimiter_combo, self.encoding_combo):
            label = QLabel(f"{combo.accessibleName()}:")
            label.setBuddy(combo)
            self._labels[combo] = label
            layout.addWidget(label)
            layout.addWidget(combo)
        layout.addStretch(1)

    def _combo(self, name: str, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.setToolTip(tip)
        combo.currentIndexChanged.connect(self.changed)
        return combo

    def set_detected(self, detected: DetectedFormat) -> None:
        """Select what was detected and show only the controls that apply to the file."""
        self._workbook = bool(detected.sheets)
        combos = (self.sheet_combo, self.delimiter_combo, self.encoding_combo)
        for combo in combos:
            combo.blockSignals(True)  # filling in is not the user choosing
        self.sheet_combo.clear()
        self.sheet_combo.addItems(list(detected.sheets))
        if self._workbook:
            self.sheet_combo.setCurrentText(detected.sheet)
        else:
            self.delimiter_combo.setCurrentIndex(self.delimiter_combo.findData(detected.delimiter))
            self.encoding_combo.setCurrentIndex(self.encoding_combo.findData(detected.encoding))
        for combo, shown in zip(combos, (self._workbook, not self._workbook, not self._workbook)):
            combo.blockSignals(False)
            combo.setVisible(shown)
            self._labels[combo].setVisible(shown)

    def table_format(self) -> TableFormat:
        """The format the combos show; the fields that do not apply to the file are None."""
        if self._workbook:
            return TableFormat(sheet=self.sheet_combo.currentText())
        return TableFormat(
            encoding=self.encoding_combo.currentData(), delimiter=self.delimiter_combo.currentData()
        )
