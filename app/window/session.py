"""What the app remembers between sessions, in QSettings: the recent folders, the folder
open when the app closed, the window's geometry, the sizes of its panels and whether
the canvas shows its legend."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from ..views.welcome import MISSING

LIMIT = 8
KEY = "recent_folders"
OPEN_KEY = "open_folder"       # the folder open now; cleared when the reviewer closes it
GEOMETRY_KEY, STATE_KEY = "window/geometry", "window/state"
LEGEND_KEY, LEGEND_ACTION = "view/legend", "show_legend"   # View → Legend, on or off


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
    """The window's size, place, panel sizes and legend toggle as they were when it last closed."""
    for key, restore in ((GEOMETRY_KEY, window.restoreGeometry), (STATE_KEY, window.restoreState)):
        value = settings().value(key)
        if isinstance(value, QByteArray):
            restore(value)
    legend = window.findChild(QAction, LEGEND_ACTION)
    if legend is not None and legend.isChecked() != settings().value(LEGEND_KEY, True, bool):
        legend.trigger()     # as the reviewer's click would: the canvas follows


def save_window(window: QMainWindow) -> None:
    settings().setValue(GEOMETRY_KEY, window.saveGeometry())
    settings().setValue(STATE_KEY, window.saveState())
    legend = window.findChild(QAction, LEGEND_ACTION)
    if legend is not None:
        settings().setValue(LEGEND_KEY, legend.isChecked())
