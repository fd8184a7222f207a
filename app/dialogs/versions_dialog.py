"""Model → Versions…: the folder's fine-tuned models with their held-out figures; one can
be made active (the faces nobody reviewed are then predicted again)."""
from __future__ import annotations

import math

from PySide6.QtWidgets import (QCheckBox, QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from ..workers.folder_calibrator import KIND as CALIBRATION


def change(version, key: str = "nme_io") -> str:
    """'8.12 → 6.40 %': a version's held-out figure before and after, or '–'."""
    before, after = version.before.get(key), version.after.get(key)
    if not _number(before) or not _number(after):
        return "–"
    return f"{before:.2f} → {after:.2f} %"


def kind(version) -> str:
    """How a version was made: 'calibrated' (its offsets and ellipses fitted to the reviewed
    faces, the network unchanged) or 'fine-tuned' (the network trained on them)."""
    return "calibrated" if version.config.get("kind") == CALIBRATION else "fine-tuned"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class VersionsDialog(QDialog):
    """The folder's model versions with their held-out figures; one can be made active."""
    COLUMNS = ("Version", "Kind", "Created", "Parent", "Faces trained on", "Held-out NME_io", "Held-out NME_box",
               "Active")

    def __init__(self, control, parent=None):
        super().__init__(parent)
        self.control = control
        self.setWindowTitle("Model Versions")
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.repredict = QCheckBox("Re-predict the faces nobody has reviewed or edited")
        self.repredict.setChecked(True)
        self.activate_button = QPushButton("Make Active")
        close_button = QPushButton("Close")
        row = QHBoxLayout()
        row.addWidget(self.repredict)
        row.addStretch(1)
        row.addWidget(self.activate_button)
        row.addWidget(close_button)
        self.moved_label = QLabel()      # how the folder's uncertainty moved after the last switch
        self.moved_label.setWordWrap(True)
        self.moved_label.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.moved_label)
        layout.addLayout(row)
        self.resize(820, 320)
        self.activate_button.clicked.connect(self.activate_selected)
        self.table.itemDoubleClicked.connect(lambda _: self.activate_selected())
        close_button.clicked.connect(self.hide)
        control.version_added.connect(lambda _: self.refresh())
        control.active_changed.connect(lambda _: self.refresh())
        control.uncertainty_moved.connect(self.moved_label.setText)
        control.uncertainty_moved.connect(self.moved_label.show)

    def version_numbers(self) -> list[int]:
        versions = self.control.versions
        return [0] + ([v.version for v in versions.versions] if versions is not None else [])

    def refresh(self) -> None:
        versions = self.control.versions
        numbers = self.version_numbers()
        active = versions.active if versions is not None else 0
        self.table.setRowCount(len(numbers))
        for row, number in enumerate(numbers):
            if number == 0:
                cells = (f"v0 · {self.control.base_label()}", "starting model", "", "", "", "", "", "")
            else:
                version = versions.get(number)
                cells = (f"v{number}", kind(version), version.created.replace("T", " "), f"v{version.parent}",
                         str(len(version.trained_on)), change(version), change(version, "nme_box"), "")
            for column, text in enumerate(cells[:-1] + ("✓" if number == active else "",)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.select_version(active)

    def select_version(self, number: int) -> None:
        numbers = self.version_numbers()
        if number in numbers:
            self.table.selectRow(numbers.index(number))

    def selected_version(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.version_numbers()[rows[0].row()] if rows else None

    def activate_selected(self) -> None:
        number = self.selected_version()
        if number is not None:
            self.control.make_active(number, repredict=self.repredict.isChecked())
