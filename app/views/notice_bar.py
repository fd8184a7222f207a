"""A dismissable bar above the canvas for things the user must read (never a modal
dialog, so nothing blocks a review or an unattended screenshot).

Each notice may belong to a topic ("folder", "export", "save", "model", …): a later
success of the same kind clears that topic's notices (:meth:`NoticeBar.clear_topic`),
so the bar never goes on reporting a failure that has since been put right. A topic
may come with a button that acts on what its notices say (:meth:`NoticeBar.offer`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

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
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 4, 4)
        self._layout.addWidget(self.label, 1)
        self._layout.addWidget(close)
        self.notices: list[Notice] = []
        self.buttons: dict[str, QPushButton] = {}        # topic → its button (see offer)
        self._offers: dict[str, Callable[[], object]] = {}
        self.setAutoFillBackground(True)
        self.hide()

    @property
    def messages(self) -> list[str]:
        return [notice.message for notice in self.notices]

    def add(self, message: str, level: str = "info", topic: str = "") -> None:
        if message not in self.messages:
            self.notices.append(Notice(message, level, topic))
            self._show()

    def offer(self, topic: str, text: str, callback: Callable[[], object]) -> None:
        """While there are notices of ``topic``, show a button ``text`` that calls ``callback``
        (offering a topic again replaces its text and callback)."""
        if topic not in self.buttons:
            button = self.buttons[topic] = QPushButton(self)
            button.clicked.connect(lambda: self._offers[topic]())
            self._layout.insertWidget(self._layout.count() - 1, button)   # before the close button
        self.buttons[topic].setText(text)
        self._offers[topic] = callback
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
        topics = {notice.topic for notice in self.notices}
        for topic, button in self.buttons.items():
            button.setVisible(topic in topics)
        self.setVisible(bool(self.notices))
