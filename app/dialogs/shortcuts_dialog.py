"""Help → Keyboard Shortcuts and How to Review: every command with its keys and what the
mouse does, and a short page on how to review."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget,
                               QTextBrowser, QVBoxLayout)


class ShortcutsDialog(QDialog):
    """Two pages: Keys, a two-column table (command, keys or mouse) the dialog is sized
    to, and How to Review, ``guide`` (rich text). Close sits beside the tabs, leaving
    the table the height."""

    def __init__(self, rows: list[tuple[str, str]], guide: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts and How to Review")
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Command", "Keys / mouse"])
        for row, (command, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(command))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)   # compact rows
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.guide = QTextBrowser(self)
        self.guide.setHtml(guide)
        self.pages = QTabWidget(self)
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.table, "Keys")
        self.pages.addTab(self.guide, "How to Review")
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        self.pages.setCornerWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self._fit_to_table()

    def _fit_to_table(self) -> None:
        """As wide as the table's columns, as tall as its rows (within the screen)."""
        table = self.table
        table.resizeColumnsToContents()
        frame = 2 * table.frameWidth()
        width = table.horizontalHeader().length() + frame + table.verticalScrollBar().sizeHint().width()
        height = table.horizontalHeader().height() + table.verticalHeader().length() + frame
        margins = self.layout().contentsMargins()
        tabs = max(self.pages.tabBar().sizeHint().height(), self.pages.cornerWidget().sizeHint().height())
        screen = self.screen().availableGeometry()
        self.resize(min(width + margins.left() + margins.right(), screen.width()),
                    min(height + tabs + margins.top() + margins.bottom(), int(0.9 * screen.height())))
