"""File → Export: where to and which faces, and asking before files are replaced."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from ..document.export import COCO_NAME
from ..document.imglab import IMGLAB_NAME

SHOWN = 8


class ExportDialog(QDialog):
    """The folder to export to, the faces: those reviewed (the default) or every face with
    points (reviewed, annotated or predicted), each with its count, and whether dlib's
    imglab XML is written too."""

    def __init__(self, parent: QWidget | None, folder: Path, reviewed: int, with_points: int, imglab: bool = False):
        super().__init__(parent)
        self.setWindowTitle("Export Faces")
        self.counts = {True: reviewed, False: with_points}   # by "reviewed only"
        self.folder_edit = QLineEdit(str(folder))
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(choose)
        self.reviewed_only = QRadioButton(f"Reviewed faces only ({reviewed}): those accepted with A")
        self.every_face = QRadioButton(f"Every face with points ({with_points}): reviewed, annotated or predicted")
        (self.reviewed_only if reviewed else self.every_face).setChecked(True)   # never a dead choice
        self.imglab = QCheckBox(f"Also dlib's imglab XML ({IMGLAB_NAME}), to train a dlib shape predictor")
        self.imglab.setToolTip("Parts 00–67 at the nearest whole pixel, each face's box the tight box of its "
                               "parts, image paths relative to the export folder (README, Export)")
        self.imglab.setChecked(imglab)
        note = QLabel(f"Writes one .pts file per face (<stem>.pts, or <stem>_<k>.pts for face k) and "
                      f"{COCO_NAME}; asks before replacing any file.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Export to folder:"))
        layout.addLayout(folder_row)
        layout.addWidget(QLabel("Faces:"))
        layout.addWidget(self.reviewed_only)
        layout.addWidget(self.every_face)
        layout.addWidget(self.imglab)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        for widget in (self.reviewed_only, self.every_face):
            widget.toggled.connect(self._refresh)
        self.folder_edit.textChanged.connect(self._refresh)
        self._refresh()
        self.resize(560, self.sizeHint().height())

    def choice(self) -> tuple[Path, bool, bool]:
        """(folder, reviewed faces only, dlib's imglab XML too)."""
        return Path(self.folder_edit.text().strip()), self.reviewed_only.isChecked(), self.imglab.isChecked()

    def _refresh(self) -> None:
        self.export_button.setEnabled(self.counts[self.reviewed_only.isChecked()] > 0
                                      and bool(self.folder_edit.text().strip()))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export faces to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)


def ask_replace_existing(parent: QWidget, existing: list[Path], reviewed_folder: Path) -> bool | None:
    """True: replace them; False: keep them and write the rest; None: cancel the export.
    Keeping is the default, and .pts files inside the reviewed folder (most likely the
    user's original annotations) are pointed out."""
    names = "\n".join(str(p) for p in existing[:SHOWN]) + ("\n…" if len(existing) > SHOWN else "")
    originals = sum(p.suffix == ".pts" and p.is_relative_to(reviewed_folder) for p in existing)
    text = f"{len(existing)} file(s) already exist"
    if originals:
        text += f", {originals} of them .pts files in the reviewed folder (your original annotations?)"
    box = QMessageBox(QMessageBox.Icon.Warning, "Replace existing files?", f"{text}:\n{names}", parent=parent)
    replace = box.addButton("Replace them", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep them, write the rest", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    return {replace: True, keep: False}.get(box.clickedButton())


def ask_mix_datasets(parent: QWidget, target: Path, other: str, reviewed_folder: Path) -> bool:
    """True when the user still wants to export ``reviewed_folder``'s faces to ``target``,
    which holds an export of the faces of ``other`` (a folder). Cancel is the default."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Another folder's export is there",
                      f"{target} holds an export of another folder's faces: {other}.\n"
                      f"Exporting the faces of {reviewed_folder} there mixes the two in one folder, and "
                      f"replacing its {COCO_NAME} loses the other's.",
                      parent=parent)
    export = box.addButton("Export here anyway", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
    box.exec()
    return box.clickedButton() is export
