"""The main window's actions (text, shortcut, tip, icon) and the menus that list them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar, QStyle

if TYPE_CHECKING:
    from app.main_window import MainWindow

Key, Pixmap = QKeySequence.StandardKey, QStyle.StandardPixmap


class WindowActions:
    """Every action is added to the window too, so its shortcut works wherever the focus is.

    Built before the panels exist (they show some of these actions as buttons), so slots
    on panels are looked up when triggered.
    """

    def __init__(self, window: MainWindow):
        self._window = window
        session = window.session
        self.new = self._action(
            "&New project", session.new_project, Key.New, icon=Pixmap.SP_FileIcon
        )
        self.open = self._action(
            "&Open project…", session.open_project, Key.Open, icon=Pixmap.SP_DialogOpenButton
        )
        self.save = self._action(
            "&Save project", session.save, Key.Save, icon=Pixmap.SP_DialogSaveButton
        )
        self.save_as = self._action("Save project &as…", session.save_as, Key.SaveAs)
        self.example = self._action("Open the &example project", session.open_example)
        self.quit = self._action("&Quit", window.close, Key.Quit)
        stack = window.document.undo_stack
        self.undo = stack.createUndoAction(window, "&Undo")
        self.undo.setShortcuts(Key.Undo)
        self.undo.setIcon(window.style().standardIcon(Pixmap.SP_ArrowBack))
        self.redo = stack.createRedoAction(window, "&Redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo.setIcon(window.style().standardIcon(Pixmap.SP_ArrowForward))
        for action in (self.undo, self.redo):
            window.addAction(action)
        self.paste = self._action(
            "&Paste examples",
            window.importer.paste,
            Key.Paste,
            "Paste lines: text<Tab>class, or plain lines for the selected class",
        )
        self.import_ = self._action(
            "&Import examples…",
            window.importer.import_file,
            QKeySequence("Ctrl+I"),
            "Import a CSV, TSV or Excel file",
        )
        self.add_row = self._action(
            "Add &example",
            window.add_example,
            QKeySequence("Ctrl+Shift+Return"),
            "Add an empty example to type in",
        )
        self.delete = self._action(
            "&Delete",
            window.delete_selection,
            Key.Delete,
            "Delete the selected examples (or classes)",
        )
        self.paste_pool = self._action(
            "Paste texts to &label",
            window.importer.paste_pool,
            QKeySequence("Ctrl+Shift+V"),
            "Paste lines of unlabeled text into the Unlabeled tab",
        )
        self.import_pool = self._action(
            "Import texts to la&bel…",
            window.importer.import_pool_file,
            QKeySequence("Ctrl+Shift+I"),
            "Unlabeled texts from a TXT (one per line), CSV, TSV or Excel file",
        )
        self.label_next = self._action(
            "&Label next…",
            window.label_next,
            QKeySequence("Ctrl+K"),
            "Label the unlabeled texts one by one, with the model's suggestions",
        )
        self.add_class = self._action(
            "Add &class…", lambda: window.classes_panel.add_class(), QKeySequence("Ctrl+Shift+N")
        )
        self.train = self._action(
            "&Train",
            lambda: window.train_panel.train(),
            [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")],
            "Teach the classifier from your examples",
        )
        self.cancel = self._action(
            "&Cancel training", lambda: window.train_panel.cancel(), QKeySequence("Esc")
        )
        self.try_it = self._action(
            "T&ry it", window.focus_try, QKeySequence("Ctrl+L"), "Type a text to classify"
        )
        self.save_classifier = self._action(
            "&Save classifier file…", window.save_classifier, QKeySequence("Ctrl+E")
        )
        self.export = self._action(
            "Export to &ONNX…",
            window.show_export,
            QKeySequence("Ctrl+Shift+E"),
            "Export for fast inference without PyTorch",
        )
        self.batch = self._action(
            "Classify a &file…",
            window.show_batch,
            QKeySequence("Ctrl+B"),
            "Classify every row of a CSV, TSV or Excel file",
        )
        self.metatrain = self._action(
            "&Meta-train a checkpoint…",
            window.show_metatrain,
            QKeySequence("Ctrl+M"),
            "Train meta-adapters on your own task folders",
        )
        self.settings = self._action(
            "&Settings…",
            window.show_settings,
            QKeySequence("Ctrl+,"),
            "Device, backbone and meta-adapter checkpoint",
        )
        self.shortcuts = self._action(
            "&Keyboard shortcuts", window.show_shortcuts, Key.HelpContents
        )
        self.about = self._action(
            "&About Fewshot Studio", window.show_about, tip="Versions, device, backbone, checkpoint"
        )

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
        window = self._window
        action = QAction(text, window)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = f"{tip or text.rstrip('…')} ({keys})"
        action.setToolTip(tip or text.rstrip("…"))
        action.setStatusTip(tip or text.rstrip("…"))
        if icon is not None:
            action.setIcon(window.style().standardIcon(icon))
        action.triggered.connect(lambda _checked=False: slot())
        window.addAction(action)
        return action

    @property
    def always_enabled(self) -> tuple[QAction, ...]:
        """Usable before the engine has loaded."""
        return self.quit, self.shortcuts, self.about

    def fill_menus(self, bar: QMenuBar) -> None:
        file_menu = bar.addMenu("&File")
        for action in (self.new, self.open):
            file_menu.addAction(action)
        recent = file_menu.addMenu("Open &recent")
        recent.aboutToShow.connect(self._window.session.fill_recent_menu)
        _add(file_menu, [self.example, None, self.save, self.save_as, None, self.quit])
        _add(
            bar.addMenu("&Edit"),
            [
                self.undo,
                self.redo,
                None,
                self.paste,
                self.import_,
                self.add_row,
                self.delete,
                None,
                self.import_pool,
                self.paste_pool,
                self.label_next,
                None,
                self.add_class,
            ],
        )
        _add(
            bar.addMenu("&Classifier"),
            [
                self.train,
                self.cancel,
                self.try_it,
                None,
                self.save_classifier,
                self.export,
                self.batch,
            ],
        )
        _add(bar.addMenu("&Tools"), [self.metatrain, self.settings])
        _add(bar.addMenu("&Help"), [self.shortcuts, self.example, self.about])


def _add(menu, actions) -> None:
    """Add actions in order; None is a separator."""
    for action in actions:
        menu.addSeparator() if action is None else menu.addAction(action)
