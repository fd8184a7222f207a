"""What the window shows with no folder open and with one: the welcome panel with the
recent folders, or the canvas with the side panels; and which commands can act."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QStackedWidget

from ..document.project import Project
from ..views.canvas import FaceCanvas
from ..views.welcome import WelcomePanel
from .actions import OWN_STATE, WITHOUT_FOLDER
from .session import RecentFolders

NEEDS_IMAGES = {"predict"}     # actions that have nothing to act on in a folder without images


class PageSwitch:
    """Switches ``pages`` between ``welcome`` and ``canvas`` (with the ``docks``), enables
    the ``actions`` that can act, and lists the ``recent`` folders in the welcome panel and
    in ``recent_menu``, whose entries call ``open_folder``."""

    def __init__(self, *, pages: QStackedWidget, canvas: FaceCanvas, welcome: WelcomePanel,
                 docks: list[QDockWidget], actions: dict[str, QAction], recent: RecentFolders, recent_menu: QMenu,
                 open_folder: Callable[[str], object]):
        self.pages, self.canvas, self.welcome, self.docks = pages, canvas, welcome, docks
        self.actions, self.recent, self.recent_menu, self.open_folder = actions, recent, recent_menu, open_folder

    def show(self, project: Project | None) -> None:
        """The canvas and the side panels while ``project`` is open, else the welcome panel."""
        self.pages.setCurrentWidget(self.canvas if project is not None else self.welcome)
        for dock in self.docks:
            dock.setVisible(project is not None)
        has_images = project is not None and bool(project.images)
        for name, action in self.actions.items():
            if name not in WITHOUT_FOLDER | OWN_STATE:
                action.setEnabled(has_images if name in NEEDS_IMAGES else project is not None)
        if project is None:
            self.show_recent_folders()   # a folder may have gone missing meanwhile

    def show_recent_folders(self) -> None:
        self.recent.fill_menu(self.recent_menu, self.open_folder)
        self.welcome.show_folders(self.recent.folders())
