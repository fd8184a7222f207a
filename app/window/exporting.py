"""File → Export: the dialog, the export, and the report of what was written."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QDialog, QWidget

from ..dialogs.export_dialog import ExportDialog, ask_mix_datasets, ask_replace_existing
from ..document.export import (ExportError, export_counts, export_report, failure_report, plan_export,
                               write_export)
from ..document.project import Project
from ..views.notice_bar import NoticeBar
from .session import settings

EXPORT_FOLDERS_KEY = "export_folders"   # {reviewed folder: where its last export went}
IMGLAB_KEY = "export_imglab"            # whether the last export wrote dlib's imglab XML too


def export_folders() -> dict[str, str]:
    folders = settings().value(EXPORT_FOLDERS_KEY, {})
    return folders if isinstance(folders, dict) else {}


class Exporting:
    """Exports the open project (``project_of``): its dialogs are shown over ``dialog_parent``,
    what was written is said in ``notices``."""

    def __init__(self, *, notices: NoticeBar, project_of: Callable[[], Project | None], dialog_parent: QWidget):
        self.notices, self.project_of, self.dialog_parent = notices, project_of, dialog_parent

    def choose_export(self) -> None:
        """File → Export: the folder, the faces (reviewed only, or all) and whether dlib's
        imglab XML is written too, in one dialog. The folder suggested is where this reviewed
        folder's last export went; the imglab choice is the last export's."""
        project = self.project_of()
        if project is None:
            return
        dialog = ExportDialog(self.dialog_parent, self._suggested_export_folder(project), *export_counts(project),
                              imglab=settings().value(IMGLAB_KEY, False, type=bool))
        if dialog.exec() == QDialog.DialogCode.Accepted:
            folder, only_reviewed, imglab = dialog.choice()
            settings().setValue(IMGLAB_KEY, imglab)
            self.export_to(folder, only_reviewed, imglab=imglab)

    @staticmethod
    def _suggested_export_folder(project: Project) -> Path:
        remembered = export_folders().get(str(project.folder))
        return Path(remembered) if isinstance(remembered, str) else project.folder / "export"

    def export_to(self, folder: Path, only_reviewed: bool = True, replace_existing: bool | None = None,
                  imglab: bool = False) -> list[Path]:
        """Export the reviewed faces (or every face with points), with dlib's imglab XML when
        ``imglab``; existing files are replaced only when the user (or ``replace_existing``)
        says so, and the user is asked before this folder's faces go where another folder's
        export is. Returns the files written."""
        folder, project = Path(folder), self.project_of()
        if folder.exists() and not folder.is_dir():
            self.notices.clear_topic("export")
            self.notices.add(f"Nothing exported: {folder} is a file, not a folder.", "error", topic="export")
            return []
        plan = plan_export(project, folder, only_reviewed, imglab)
        if plan.face_count == 0:
            self.notices.add("Nothing to export: no face is reviewed yet (Review → Accept Face), or choose "
                             "'Every face with points' in File → Export.", topic="export")
            return []
        if replace_existing is None:
            if plan.other_dataset is not None and not ask_mix_datasets(self.dialog_parent, folder,
                                                                     plan.other_dataset, project.folder):
                return []
            if plan.existing:
                replace_existing = ask_replace_existing(self.dialog_parent, plan.existing, project.folder)
                if replace_existing is None:
                    return []
        settings().setValue(EXPORT_FOLDERS_KEY, export_folders() | {str(project.folder): str(folder)})
        self.notices.clear_topic("export")
        try:
            written, skipped = write_export(plan, bool(replace_existing))
        except ExportError as error:
            self.notices.add(failure_report(plan, error), "error", topic="export")
            written = error.written
        else:
            self.notices.add(export_report(plan, written, skipped), topic="export")
        for problem in plan.problems:
            self.notices.add(problem, topic="export")
        return written
