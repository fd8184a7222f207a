"""The File → Open Recent list, kept in QSettings."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

LIMIT = 8
KEY = "recent_folders"


def settings() -> QSettings:
    return QSettings("uglli", "uglli-review")


class RecentFolders:
    def __init__(self, menu: QMenu, open_folder: Callable[[str], object]):
        self.menu = menu
        self._open_folder = open_folder
        self._fill()

    def folders(self) -> list[str]:
        return settings().value(KEY, [], list)

    def remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.folders() if f != str(folder)]
        settings().setValue(KEY, recent[:LIMIT])
        self._fill()

    def _fill(self) -> None:
        self.menu.clear()
        for folder in self.folders():
            self.menu.addAction(folder, lambda folder=folder: self._open_folder(folder))
        self.menu.setEnabled(not self.menu.isEmpty())
