"""A dismissable bar above the canvas for things the user must read (never a modal
dialog, so nothing blocks a review or an unattended screenshot).

Each notice may belong to a topic ("folder", "export", "save", "model", …): a later
success of the same kind clears that topic's notices (:meth:`NoticeBar.clear_topic`),
so the bar never goes on reporting a failure that has since been put right.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

STYLES = {
    "info": "background: #fff5cc; color: #4a3b00;",
    "error": "background: #ffd6d6; color: #6b0000;",
}


@dataclass(frozen=True)
class Notice:
    message: str
    level: str = "info"
    topic: str = ""


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
        self.notices: list[Notice] = []
        self.setAutoFillBackground(True)
        self.hide()

    @property
    def messages(self) -> list[str]:
        return [notice.message for notice in self.notices]

    def add(self, message: str, level: str = "info", topic: str = "") -> None:
        if message not in self.messages:
            self.notices.append(Notice(message, level, topic))
            self._show()

    def clear_topic(self, topic: str) -> None:
        """Forget the notices of ``topic``: what they reported has since gone right."""
        if any(notice.topic == topic for notice in self.notices):
            self.notices = [notice for notice in self.notices if notice.topic != topic]
            self._show()

    def clear(self) -> None:
        self.notices = []
        self._show()

    def _show(self) -> None:
        self.label.setText("\n".join(self.messages))
        self.setStyleSheet(STYLES["error" if any(n.level == "error" for n in self.notices) else "info"])
        self.setVisible(bool(self.notices))
