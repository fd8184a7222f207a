"""The first screen when no folder is open: Open Folder and the recent folders (those
that no longer exist shown as missing, and removable from the list)."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

MISSING = " (missing)"          # after a recent folder that no longer exists
MISSING_COLOUR = QColor(150, 150, 150)
PANEL_WIDTH = 640
RECENT_ROWS_SHOWN = 8


class WelcomePanel(QWidget):
    choose_requested = Signal()        # Open Folder…
    open_requested = Signal(str)       # a recent folder
    forget_requested = Signal(str)     # remove a folder from the recent list

    def __init__(self, parent=None):
        super().__init__(parent)
        title = QLabel("UGLLI Review")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 2)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel("Review and correct 68-point facial landmarks, the faces and points the model is "
                       "least sure of first. Open a folder of photos (or drop one on this window): faces "
                       "come from .pts files or a MANIFEST.csv beside the images, else from the face detector.")
        intro.setWordWrap(True)
        self.open_button = QPushButton("Open Folder…")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self.choose_requested)
        self.recent = QListWidget()
        rows = RECENT_ROWS_SHOWN * (self.recent.fontMetrics().height() + 4) + 2 * self.recent.frameWidth()
        self.recent.setMaximumHeight(rows)   # not a tall empty box for a short list
        self.recent.itemActivated.connect(self._open_item)
        self.recent.currentItemChanged.connect(lambda *_: self._enable_buttons())
        self.open_recent_button = QPushButton("Open")
        self.open_recent_button.clicked.connect(lambda: self._open_item(self.recent.currentItem()))
        self.forget_button = QPushButton("Remove from List")
        self.forget_button.clicked.connect(self._forget_current)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_recent_button)
        buttons.addWidget(self.forget_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(12)
        column.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addSpacing(12)
        self.recent_title = QLabel("Recent folders")
        column.addWidget(self.recent_title)
        column.addWidget(self.recent)
        column.addLayout(buttons)
        column.addStretch(2)
        holder = QWidget()
        holder.setLayout(column)
        holder.setMaximumWidth(PANEL_WIDTH)
        layout = QHBoxLayout(self)
        layout.addWidget(holder)
        self._enable_buttons()

    def show_folders(self, folders: list[str]) -> None:
        self.recent.clear()
        for folder in folders:
            exists = os.path.isdir(folder)
            item = QListWidgetItem(folder + ("" if exists else MISSING))
            item.setData(Qt.ItemDataRole.UserRole, folder)
            if not exists:
                item.setForeground(QBrush(MISSING_COLOUR))
                item.setToolTip("This folder no longer exists (moved, renamed or on a drive not connected)")
            self.recent.addItem(item)
        for widget in (self.recent_title, self.recent, self.open_recent_button, self.forget_button):
            widget.setVisible(bool(folders))
        self._enable_buttons()

    def _folder(self, item: QListWidgetItem | None) -> str | None:
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _open_item(self, item: QListWidgetItem | None) -> None:
        folder = self._folder(item)
        if folder is not None and os.path.isdir(folder):
            self.open_requested.emit(folder)

    def _forget_current(self) -> None:
        folder = self._folder(self.recent.currentItem())
        if folder is not None:
            self.forget_requested.emit(folder)

    def _enable_buttons(self) -> None:
        folder = self._folder(self.recent.currentItem())
        self.open_recent_button.setEnabled(folder is not None and os.path.isdir(folder))
        self.forget_button.setEnabled(folder is not None)
