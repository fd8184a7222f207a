"""The Model menu's two dialogs, made on first use; not modal, so the review goes on
while a model trains."""
from __future__ import annotations

from ..dialogs.finetune_dialog import FineTuneDialog
from ..dialogs.versions_dialog import VersionsDialog


class ModelMenu:
    """Part of :class:`~app.window.main_window.MainWindow` (a mixin: it uses the
    window's widgets, project and undo stack)."""

    def show_fine_tune(self) -> None:
        if self.fine_tune_dialog is None:
            self.fine_tune_dialog = FineTuneDialog(self.models, self)
            self.fine_tune_dialog.versions_requested.connect(self.show_versions)
        self._show_dialog(self.fine_tune_dialog)

    def show_versions(self) -> None:
        if self.versions_dialog is None:
            self.versions_dialog = VersionsDialog(self.models, self)
        self._show_dialog(self.versions_dialog)

    def _show_dialog(self, dialog) -> None:
        """Show a Model dialog with fresh contents (not modal: the review goes on meanwhile)."""
        if self.models.versions is None:
            self.statusBar().showMessage("This folder's fine-tuned models cannot be used: see the notice above "
                                         "the image", 5000)
            return
        dialog.refresh()
        dialog.show()
        dialog.raise_()
