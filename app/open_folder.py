"""Show a folder in the system's file manager, and say so when none answers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.message_banner import MessageBanner


def open_folder(folder: Path, banner: MessageBanner) -> bool:
    """Qt returns False when no file manager takes the request (common on minimal desktops)."""
    folder = Path(folder)
    if not folder.is_dir():
        banner.show_error(f"The folder {folder} no longer exists.")
        return False
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        banner.show_error(
            f"Could not open a file manager here. The files are in {folder} (the path can be "
            "selected and copied from this message)."
        )
        return False
    return True
