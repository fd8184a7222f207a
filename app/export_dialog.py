"""Asking before an export replaces files that already exist."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

SHOWN = 8


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
