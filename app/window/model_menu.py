"""The Model menu's two dialogs, made on first use; not modal, so the review goes on
while a model trains. And File → Choose Model…"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QStatusBar, QWidget

from ..dialogs.finetune_dialog import FineTuneDialog
from ..dialogs.versions_dialog import VersionsDialog
from ..workers.model_control import ModelControl


class ModelMenu:
    """Shows the dialogs of ``models`` (the window's :class:`ModelControl`) over ``dialog_parent``."""

    def __init__(self, *, models: ModelControl, status_bar: QStatusBar, dialog_parent: QWidget):
        self.models, self.status_bar, self.dialog_parent = models, status_bar, dialog_parent
        self.fine_tune_dialog: FineTuneDialog | None = None   # made on first use
        self.versions_dialog: VersionsDialog | None = None

    def show_fine_tune(self) -> None:
        if self.fine_tune_dialog is None:
            self.fine_tune_dialog = FineTuneDialog(self.models, self.dialog_parent)
            self.fine_tune_dialog.versions_requested.connect(self.show_versions)
        self._show_dialog(self.fine_tune_dialog)

    def show_versions(self) -> None:
        if self.versions_dialog is None:
            self.versions_dialog = VersionsDialog(self.models, self.dialog_parent)
        self._show_dialog(self.versions_dialog)

    def _show_dialog(self, dialog) -> None:
        """Show a Model dialog with fresh contents (not modal: the review goes on meanwhile)."""
        if self.models.versions is None:
            self.status_bar.showMessage("This folder's fine-tuned models cannot be used: see the notice above "
                                        "the image", 5000)
            return
        dialog.refresh()
        dialog.show()
        dialog.raise_()

    def hide_dialogs(self) -> None:
        """The folder closed: its dialogs go with it."""
        for dialog in (self.fine_tune_dialog, self.versions_dialog):
            if dialog is not None:
                dialog.hide()

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Choose an UGLLI model", "", "UGLLI model (*.pt)")
        if path:
            self.models.use_base_model(Path(path))
