"""When Qt cannot start its window system: say what is missing and the command that fixes it.

Qt ends the process with abort() (a core dump on many systems) when no platform plugin can be
initialised, and its own text can name the wrong library: it asks for libxcb-cursor0 even
when libxcb-icccm4 is what is missing. A message handler catches that fatal message, finds
the libraries that really fail to load, prints them with the install command, and exits 2.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QtMsgType, qInstallMessageHandler

EXIT_NO_WINDOW_SYSTEM = 2
# soname -> (Debian/Ubuntu package, Fedora package): the libraries Qt's xcb plugin needs
# that desktop-less installs often lack (the list in Qt's "Qt for X11 Requirements").
LINUX_PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
}
PLUGIN_NAME = re.compile(r'platform plugin "([^"]+)"')
NOISE = {"This plugin does not support propagateSizeHints()"}  # offscreen plugin, harmless


def install_fatal_handler(program: str) -> None:
    """Pass Qt's messages on to stderr; turn a fatal start-up failure into advice and exit 2."""
    seen: list[str] = []

    def handler(kind: QtMsgType, _context, message: str) -> None:
        seen.append(message)
        if kind != QtMsgType.QtFatalMsg:
            if message not in NOISE:
                sys.stderr.write(message + "\n")
            return
        if any("platform plugin" in text for text in seen):
            sys.stderr.write(f"{program}: cannot open a window.\n{diagnose(seen)}\n")
        else:  # some other fatal Qt error: say it plainly, still without a core dump
            sys.stderr.write(f"{program}: Qt stopped with an error: {message}\n")
        sys.stderr.flush()
        os._exit(EXIT_NO_WINDOW_SYSTEM)  # before Qt's abort(): no core dump

    qInstallMessageHandler(handler)


def diagnose(messages: list[str], plugins_dir: Path | None = None) -> str:
    """What kept the platform plugin from starting, in words, with the fix."""
    plugins_dir = plugins_dir or Path(
        QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath), "platforms"
    )
    named = [m.group(1) for m in map(PLUGIN_NAME.search, messages) if m]
    requested = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    platform = named[0] if named else requested or "xcb"
    plugin = plugins_dir / f"libq{platform}.so"
    available = sorted(p.stem.removeprefix("libq") for p in plugins_dir.glob("libq*.so"))
    if sys.platform.startswith("linux") and not plugin.is_file():
        return (
            f"Qt has no platform plugin {platform!r} (QT_QPA_PLATFORM={requested or 'unset'}). "
            f"Available here: {', '.join(available)}. Unset QT_QPA_PLATFORM, or set it to one "
            "of these."
        )
    missing = missing_libraries(plugin) if sys.platform.startswith("linux") else []
    if missing:
        return install_advice(missing)
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return (
            "There is no display to show the window on (DISPLAY is not set). Start Fewshot "
            "Studio from a desktop session (over ssh: `ssh -X`), or use the `fewshot` command "
            "line, which needs no window."
        )
    return "Qt said:\n  " + "\n  ".join(messages) + "\nReinstalling Fewshot Studio may fix this."


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries the plugin (and what it links) cannot find, by soname."""
    if shutil.which("ldd"):
        listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
        missing = re.findall(r"^\s*(\S+) => not found", listing, flags=re.MULTILINE)
        if missing:
            return sorted(set(missing))
    try:
        ctypes.CDLL(str(plugin))
    except OSError as error:
        first = re.match(r"(\S+\.so[.\d]*): cannot open shared object file", str(error))
        return [first.group(1)] if first else []
    return []


def install_advice(libraries: list[str]) -> str:
    known = [lib for lib in libraries if lib in LINUX_PACKAGES]
    unknown = [lib for lib in libraries if lib not in LINUX_PACKAGES]
    lines = [f"Qt's window system plugin needs these system libraries: {', '.join(libraries)}."]
    if known:
        debian = sorted({LINUX_PACKAGES[lib][0] for lib in known})
        fedora = sorted({LINUX_PACKAGES[lib][1] for lib in known})
        lines += [
            "Install them, then start again:",
            f"  Debian/Ubuntu:  sudo apt install {' '.join(debian)}",
            f"  Fedora:         sudo dnf install {' '.join(fedora)}",
        ]
    if unknown:
        lines.append(
            f"Find the package that provides {', '.join(unknown)} with `apt-file search` "
            "(Debian/Ubuntu) or `dnf provides` (Fedora)."
        )
    return "\n".join(lines)
