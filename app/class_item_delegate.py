"""Draws a class as its name in bold over its example count and hint, with a coloured mark.

The hint wraps onto as many lines as the panel's width needs: it is advice, and advice cut
off at "add 8 examples for a g..." helps nobody.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.class_list_model import COUNT_ROLE, GOOD_START, HINT_ROLE

PADDING = 6
MARK = 8  # diameter of the readiness dot
READY, ALMOST, EMPTY = QColor("#2e7d32"), QColor("#e0a000"), QColor("#c62828")


class ClassItemDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        option = QStyleOptionViewItem(option)
        self.initStyleOption(option, index)
        option.text = ""  # the style draws selection and focus; the text is drawn below
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)

        name = str(index.data(Qt.ItemDataRole.EditRole))
        count = int(index.data(COUNT_ROLE) or 0)
        detail = details(index)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorGroup.Normal
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        rect = option.rect.adjusted(PADDING + MARK + PADDING, PADDING, -PADDING, -PADDING)
        bold, small = QFont(option.font), QFont(option.font)
        bold.setBold(True)
        small.setPointSizeF(option.font.pointSizeF() * 0.9)
        line = QFontMetrics(bold).height()

        painter.save()
        colour = READY if count >= GOOD_START else ALMOST if count else EMPTY
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        top = rect.top() + (line - MARK) // 2
        painter.drawEllipse(QRect(option.rect.left() + PADDING, top, MARK, MARK))
        painter.setPen(option.palette.color(group, text_role))
        painter.setFont(bold)
        painter.drawText(
            QRect(rect.left(), rect.top(), rect.width(), line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(bold).elidedText(name, Qt.TextElideMode.ElideRight, rect.width()),
        )
        secondary = option.palette.color(group, text_role)
        if not selected:
            secondary = option.palette.color(group, QPalette.ColorRole.PlaceholderText)
        painter.setPen(secondary)
        painter.setFont(small)
        painter.drawText(
            QRect(rect.left(), rect.top() + line + 2, rect.width(), rect.height() - line - 2),
            WRAP,
            detail,
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        bold, small = QFont(option.font), QFont(option.font)
        bold.setBold(True)
        small.setPointSizeF(option.font.pointSizeF() * 0.9)
        view = option.widget
        width = view.viewport().width() if view is not None else 160
        text_width = max(width - 3 * PADDING - MARK - PADDING, 40)
        wrapped = QFontMetrics(small).boundingRect(
            QRect(0, 0, text_width, 10_000), WRAP, details(index)
        )
        return QSize(160, QFontMetrics(bold).height() + 2 + wrapped.height() + 2 * PADDING + 2)


WRAP = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap


def details(index: QModelIndex) -> str:
    count = int(index.data(COUNT_ROLE) or 0)
    return f"{count} example{'s' if count != 1 else ''} · {index.data(HINT_ROLE)}"
