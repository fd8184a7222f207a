"""Opening and closing folders: the project open, what each view and worker is told when
it comes and goes, and where the reviewer was in it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFileDialog, QStatusBar, QWidget

from ..document.folder_place import PLACE_SETTING, FolderPlace
from ..document.open_folder import FolderError
from ..document.project import Project, SaveError
from ..document.store import StoreOpenError
from ..views.face_table import HEADERS
from ..views.notice_bar import NoticeBar
from ..workers.folder_opener import open_folder_responsively
from ..workers.model_control import OTHER_MODEL, ModelControl
from ..workers.prediction import PredictionController
from .document_events import DocumentEvents
from .navigation import Navigation
from .session import RecentFolders

FOLDER_TOPICS = ("folder", "save", "export", "uncertainty", "fine_tune", OTHER_MODEL)  # about the open folder
TITLE = "UGLLI Review"


def fallback_state_root() -> Path:
    """Where the state of folders that cannot be written is kept."""
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(data) / "uglli-review" / "folders"


class Folders:
    """Holds the open :attr:`project` and opens and closes it. Opening one tells the
    workers (``prediction``, ``models``), has ``watch`` connect its events, has
    ``navigation`` list and show it (where the reviewer left it, unless ``remember`` is
    off), ``document_events`` score it, and ``show_page`` show the page of an open folder;
    then predicts what it lacks when ``auto_predict``. What is said of it goes to
    ``notices``, ``status_bar`` and the title (``set_title``); ``recent`` lists it.
    Closing it also clears ``undo_stack`` and hides the Model dialogs (``hide_model_dialogs``)."""

    def __init__(self, *, notices: NoticeBar, status_bar: QStatusBar, set_title: Callable[[str], None],
                 undo_stack: QUndoStack, prediction: PredictionController, models: ModelControl,
                 recent: RecentFolders, navigation: Navigation, document_events: DocumentEvents,
                 show_page: Callable[[Project | None], None], watch: Callable[[Project], None],
                 hide_model_dialogs: Callable[[], None], dialog_parent: QWidget, remember: bool,
                 auto_predict: bool):
        self.notices, self.status_bar, self.set_title = notices, status_bar, set_title
        self.undo_stack, self.prediction, self.models, self.recent = undo_stack, prediction, models, recent
        self.navigation, self.document_events = navigation, document_events
        self.show_page, self.watch, self.hide_model_dialogs = show_page, watch, hide_model_dialogs
        self.dialog_parent, self.remember, self.auto_predict = dialog_parent, remember, auto_predict
        self.project: Project | None = None

    def open_folder(self, folder: str | Path) -> bool:
        """Open ``folder`` (closing the current one); False, with a notice, when it cannot be."""
        self.close_project()
        try:
            project = open_folder_responsively(folder, fallback_state_root(), progress=self._show_reading_progress)
        except (FolderError, StoreOpenError, SaveError, OSError) as exc:
            self.notices.add(f"Cannot open {folder}: {exc}", "error", topic="folder")
            return False
        self.project = project
        self.notices.clear_topic("folder")   # what was said of an earlier folder, or of a failed opening
        for notice in project.notices:
            self.notices.add(notice, topic="folder")
        place = self._saved_place(project)
        self.navigation.show_folder(project, place)   # before watch: see show_folder
        self.watch(project)
        self.set_title(f"{project.folder.name} — {TITLE}")
        self.prediction.set_project(project)
        self.models.folder_opened(project)
        self.document_events.refresh_scores()
        if self.remember:
            self.recent.remember(project.folder)
        self.status_bar.clearMessage()  # "Reading the folder…" is over
        self.show_page(project)
        self.navigation.open_at(place)
        if self.auto_predict:
            self.prediction.start()
        return True

    def _show_reading_progress(self, done: int, total: int) -> None:
        if total:
            self.status_bar.showMessage(f"Reading the folder: {done:,} / {total:,} new images")

    def _saved_place(self, project: Project) -> FolderPlace | None:
        """Where the reviewer was when the folder last closed (None: open it as a new one)."""
        if not self.remember:
            return None
        return FolderPlace.from_json(project.store.setting(PLACE_SETTING), len(HEADERS))

    def _save_place(self) -> None:
        """Keep where the reviewer is in the folder (the list's sort, the face, the zoom) for
        its next opening."""
        try:
            self.project.store.set_setting(PLACE_SETTING, self.navigation.place().to_json())
        except SaveError:
            pass   # not the reviewer's work: the folder then opens at its first row, as a new one does

    def close_project(self) -> None:
        if self.project is None:
            return
        if self.remember:
            self._save_place()
        self.prediction.set_project(None)
        self.models.folder_closed()
        self.hide_model_dialogs()
        self.undo_stack.clear()
        self.navigation.clear()
        self.project.close()
        self.project = None
        self.set_title(TITLE)     # the closed folder's name goes with it
        for topic in FOLDER_TOPICS:   # what was said of that folder no longer holds
            self.notices.clear_topic(topic)

    def close_folder(self) -> None:
        """File → Close Folder: back to the welcome panel (where the next session starts too)."""
        self.close_project()
        self.recent.closed()
        self.show_page(None)
        self.document_events.update_status()
        self.navigation.show_edit_hint()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.dialog_parent, "Open a folder of face images")
        if folder:
            self.open_folder(folder)
