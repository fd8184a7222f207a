"""A dismissable bar above the canvas for things the user must read (never a modal
dialog, so nothing blocks a review or an unattended screenshot)."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

STYLES = {
    "info": "background: #fff5cc; color: #4a3b00;",
    "error": "background: #ffd6d6; color: #6b0000;",
}


class NoticeBar(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.messages: list[str] = []
        self.setAutoFillBackground(True)
        self.hide()

    def add(self, message: str, level: str = "info") -> None:
        if message in self.messages:
            return
        self.messages.append(message)
        self.label.setText("\n".join(self.messages))
        if level == "error" or not self.isVisible():
            self.setStyleSheet(STYLES[level])
        self.show()

    def clear(self) -> None:
        self.messages = []
        self.label.clear()
        self.hide()
