"""What the app remembers between sessions, in QSettings: the recent folders, the folder
open when the app closed, the window's geometry and the sizes of its panels."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal
from PySide6.QtWidgets import QMainWindow, QMenu

from ..views.welcome import MISSING

LIMIT = 8
KEY = "recent_folders"
OPEN_KEY = "open_folder"       # the folder open now; cleared when the reviewer closes it
GEOMETRY_KEY, STATE_KEY = "window/geometry", "window/state"


def settings() -> QSettings:
    return QSettings("uglli", "uglli-review")


class RecentFolders(QObject):
    """The recent folders, most recent first; :attr:`changed` when the list changes."""
    changed = Signal()

    def folders(self) -> list[str]:
        return settings().value(KEY, [], list)

    def last(self) -> str | None:
        """The folder that was open when the app last closed, when it still exists."""
        folder = settings().value(OPEN_KEY, "", str)
        return folder if folder and os.path.isdir(folder) else None

    def remember(self, folder: Path) -> None:
        """``folder`` was opened: first in the list, and the one to reopen next time."""
        settings().setValue(OPEN_KEY, str(folder))
        self._store([str(folder)] + [f for f in self.folders() if f != str(folder)])

    def closed(self) -> None:
        """The reviewer closed the folder: the next session starts on the welcome panel."""
        settings().remove(OPEN_KEY)

    def forget(self, folder: str) -> None:
        self._store([f for f in self.folders() if f != folder])

    def _store(self, folders: list[str]) -> None:
        settings().setValue(KEY, folders[:LIMIT])
        self.changed.emit()

    def fill_menu(self, menu: QMenu, open_folder) -> None:
        """File → Open Recent: a folder that no longer exists is listed, greyed, as missing."""
        menu.clear()
        for folder in self.folders():
            action = menu.addAction(folder + ("" if os.path.isdir(folder) else MISSING),
                                    lambda folder=folder: open_folder(folder))
            action.setEnabled(os.path.isdir(folder))
        menu.setEnabled(not menu.isEmpty())


def restore_window(window: QMainWindow) -> None:
    """The window's size, place and panel sizes as they were when it last closed."""
    for key, restore in ((GEOMETRY_KEY, window.restoreGeometry), (STATE_KEY, window.restoreState)):
        value = settings().value(key)
        if isinstance(value, QByteArray):
            restore(value)


def save_window(window: QMainWindow) -> None:
    settings().setValue(GEOMETRY_KEY, window.saveGeometry())
    settings().setValue(STATE_KEY, window.saveState())
