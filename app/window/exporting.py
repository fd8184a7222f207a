"""File → Export: the dialog, the export, and the report of what was written."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog

from ..dialogs.export_dialog import ExportDialog, ask_replace_existing
from ..document.export import export_counts, export_report, plan_export, write_export


class Exporting:
    """Part of :class:`~app.window.main_window.MainWindow` (a mixin: it uses the
    window's widgets, project and undo stack)."""

    def choose_export(self) -> None:
        """File → Export: the folder and the faces (reviewed only, or all) in one dialog."""
        if self.project is None:
            return
        dialog = ExportDialog(self, self._export_folder or self.project.folder / "export",
                              *export_counts(self.project))
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._export_folder, only_reviewed = dialog.choice()
            self.export_to(self._export_folder, only_reviewed)

    def export_to(self, folder: Path, only_reviewed: bool = True, replace_existing: bool | None = None) -> list[Path]:
        """Export the reviewed faces (or every face with points); existing files are replaced
        only when the user (or ``replace_existing``) says so. Returns the files written."""
        plan = plan_export(self.project, folder, only_reviewed)
        if plan.face_count == 0:
            self.notices.add("Nothing to export: no face is reviewed yet (Review → Accept Face), or choose "
                             "'Every face with points' in File → Export.", topic="export")
            return []
        if plan.existing and replace_existing is None:
            replace_existing = ask_replace_existing(self, plan.existing, self.project.folder)
            if replace_existing is None:
                return []
        written, skipped = write_export(plan, replace_existing)
        self.notices.clear_topic("export")
        self.notices.add(export_report(plan, written, skipped), topic="export")
        for problem in plan.problems:
            self.notices.add(problem, topic="export")
        return written
