"""Prediction progress in the status bar: a bar and a Cancel button, shown while a run goes."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QToolButton, QWidget


class ProgressPanel(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bar = QProgressBar(maximumWidth=260)
        self.bar.setFormat("predicting %v / %m images")
        cancel = QToolButton(text="Cancel")
        cancel.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(cancel)
        self.hide()

    def show_progress(self, done: int, total: int) -> None:
        self.bar.setMaximum(total)
        self.bar.setValue(done)
