"""Entry point of `fewshot-studio`."""

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def main() -> int:
    app = QApplication(sys.argv)
    window = QMainWindow()
    window.setWindowTitle("Fewshot Studio")
    window.setCentralWidget(QLabel("Fewshot Studio"))
    window.show()
    return app.exec()
