"""Help → Keyboard Shortcuts: every command with its keys, and what the mouse does."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout


class ShortcutsDialog(QDialog):
    """A two-column table, (command, keys or mouse), sized to fit its content."""

    def __init__(self, rows: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self._fit_to_table()

    def _fit_to_table(self) -> None:
        """As wide as the table's columns, as tall as its rows (within the screen)."""
        table = self.table
        table.resizeColumnsToContents()
        frame = 2 * table.frameWidth()
        width = table.horizontalHeader().length() + frame + table.verticalScrollBar().sizeHint().width()
        height = table.horizontalHeader().height() + table.verticalHeader().length() + frame
        margins = self.layout().contentsMargins()
        extra_height = margins.top() + margins.bottom() + self.layout().spacing() + 40   # the Close button
        screen = self.screen().availableGeometry()
        self.resize(min(width + margins.left() + margins.right(), screen.width()),
                    min(height + extra_height, int(0.9 * screen.height())))
