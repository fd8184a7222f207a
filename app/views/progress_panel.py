"""Prediction progress in the status bar: a bar and a Cancel button, shown while a run goes."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

BAR_WIDTH = 160


class ProgressPanel(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()         # beside the bar, not on it: a bar clips its text
        self.bar = QProgressBar(maximumWidth=BAR_WIDTH, textVisible=False)
        cancel = QToolButton(text="Cancel")
        cancel.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(cancel)
        self.hide()

    def show_progress(self, done: int, total: int) -> None:
        self.label.setText(f"Predicting: {done:,} / {total:,} images")
        self.bar.setMaximum(total)
        self.bar.setValue(done)
