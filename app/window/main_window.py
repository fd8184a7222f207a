"""The main window: wires the project (model), the face list, the canvas, the histogram,
the prediction worker and the undo stack together. It holds no review state itself."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (QDialog, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from uglli_core import BUNDLED_MODEL, ImageReadError

from ..dialogs.export_dialog import ExportDialog, ask_replace_existing
from ..dialogs.finetune_dialog import FineTuneDialog, VersionsDialog
from ..document import commands
from ..document.export import export_counts, export_report, plan_export, write_export
from ..document.open_folder import FolderError
from ..document.project import Face, ImageEntry, Project, SaveError
from ..document.propagation import Propagation
from ..document.store import StoreOpenError
from ..document.triage import next_uncertain_point
from ..views.canvas import FaceCanvas
from ..views.canvas_legend import edit_hint
from ..views.face_list import FaceListPanel
from ..views.histogram import UncertaintyHistogram
from ..views.image_cache import PixmapCache
from ..views.notice_bar import NoticeBar
from ..views.progress_panel import ProgressPanel
from ..views.welcome import WelcomePanel
from ..workers.folder_opener import open_folder_responsively
from ..workers.model_control import ModelControl
from ..workers.prediction import PredictionController
from .actions import ACTIONS, NUDGES, OWN_STATE, WITHOUT_FOLDER, ShortcutsDialog, make_action
from .session import RecentFolders, restore_window, save_window

SCORE_REFRESH_MS = 300


def fallback_state_root() -> Path:
    """Where the state of folders that cannot be written is kept."""
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(data) / "uglli-review" / "folders"


class MainWindow(QMainWindow):
    prediction_done = Signal()   # a run ended (finished, cancelled or failed)

    def __init__(self, model_path: Path | None = None, auto_predict: bool = True, remember: bool = True):
        """``auto_predict``: start predicting what a folder lacks as soon as it opens.
        ``remember``: restore the last session's window and keep this one's (its folders,
        size and panels) for the next; off for a one-off such as ``--screenshot``."""
        super().__init__()
        self.auto_predict = auto_predict
        self.remember = remember
        self.setWindowTitle("UGLLI Review")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.project: Project | None = None
        self.undo_stack = QUndoStack(self)
        self.pixmaps = PixmapCache()
        self._fit_next = True  # whether showing the next selected face zooms onto it
        self._opening_image: ImageEntry | None = None  # shown when the folder opened (see _show_where_the_work_is)
        self._export_folder: Path | None = None        # where the last export went
        self.prediction = PredictionController(model_path, self)
        self.recent = RecentFolders(self)
        self.models = ModelControl(self.prediction, self)  # Model menu: fine-tuning and versions
        self.fine_tune_dialog: FineTuneDialog | None = None   # made on first use
        self.versions_dialog: VersionsDialog | None = None
        self.propagation = Propagation()  # a correction moves the unreviewed points
        self._build_widgets()
        self._build_actions()
        self._connect()
        self._score_timer = QTimer(self, singleShot=True, interval=SCORE_REFRESH_MS)
        self._score_timer.timeout.connect(self._refresh_scores)
        self._rows_timer = QTimer(self, singleShot=True, interval=SCORE_REFRESH_MS)
        self._rows_timer.timeout.connect(self._rebuild_rows)
        self._status_timer = QTimer(self, singleShot=True, interval=SCORE_REFRESH_MS)
        self._status_timer.timeout.connect(self._update_status)
        self._check_model()
        self._update_status()
        if remember:
            restore_window(self)     # size, place and panel sizes as the last session left them
        self._show_page()

    # -- building ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.notices = NoticeBar()
        self.canvas = FaceCanvas()
        self.welcome = WelcomePanel()   # instead of the canvas while no folder is open
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.canvas)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notices)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.face_list = FaceListPanel()
        self.faces, self.table = self.face_list.model, self.face_list.table
        self._dock("Faces", self.face_list, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.histogram = UncertaintyHistogram()
        self._dock("Uncertainty over the folder", self.histogram, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.resizeDocks(self.findChildren(QDockWidget), [600, 220], Qt.Orientation.Vertical)
        self.resizeDocks(self.findChildren(QDockWidget)[:1], [600], Qt.Orientation.Horizontal)

        self.status_label = QLabel()
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # gives way first
        self.edit_hint = QLabel()       # what a click does now: the point selected, the mode
        self.progress = ProgressPanel()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.edit_hint)
        self.statusBar().addPermanentWidget(self.progress)

    def _dock(self, title: str, widget: QWidget, area) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(area, dock)

    def _build_actions(self) -> None:
        handlers = {
            "open_folder": self.choose_folder, "close_folder": self.close_folder, "choose_model": self.choose_model,
            "export": self.choose_export,
            "quit": self.close, "undo": self.undo_stack.undo, "redo": self.undo_stack.redo,
            "box_mode": self._set_box_mode, "delete_faces": self.delete_faces,
            "not_a_face": self.not_a_face,
            "show_ellipses": lambda on: self.canvas.set_shown("ellipses", on),
            "show_contours": lambda on: self.canvas.set_shown("contours", on),
            "show_numbers": lambda on: self.canvas.set_shown("numbers", on),
            "fit_image": self.canvas.fit_image, "fit_face": self._fit_face,
            "zoom_in": lambda: self.canvas.zoom(1.25), "zoom_out": lambda: self.canvas.zoom(0.8),
            "predict": self.predict_now, "cancel_prediction": self.prediction.cancel,
            "next_face": lambda: self.step_face(1), "previous_face": lambda: self.step_face(-1),
            "next_uncertain_point": self.next_uncertain_point,
            "next_point": lambda: self.step_point(1), "previous_point": lambda: self.step_point(-1),
            "toggle_point_reviewed": self.toggle_point_reviewed, "accept_face": self.accept_face,
            "deselect_point": lambda: self.canvas.select_point(-1),
            "propagate": self._set_propagation,
            "fine_tune": self.show_fine_tune, "model_versions": self.show_versions,
            "shortcuts": lambda: ShortcutsDialog(self).exec(), "about": self._about,
        } | {name: (lambda checked=False, step=step: self.nudge(*step)) for name, step in NUDGES.items()}
        self.actions: dict[str, object] = {}
        menus = {}
        for spec in ACTIONS:
            action = make_action(spec, self)
            action.triggered.connect(handlers[spec.name])
            self.addAction(action)  # shortcuts work wherever the focus is in the window
            if spec.menu not in menus:
                menus[spec.menu] = self.menuBar().addMenu(spec.menu)
            menus[spec.menu].addAction(action)
            self.actions[spec.name] = action
            if spec.name == "open_folder":
                self.recent_menu = menus[spec.menu].addMenu("Open &Recent")
        toolbar = self.addToolBar("Review")
        toolbar.setObjectName("review toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        on_toolbar = [spec for spec in ACTIONS if spec.short]
        for before, spec in zip([None, *on_toolbar], on_toolbar):
            if before and before.menu != spec.menu:
                toolbar.addSeparator()  # the same groups as the menus
            toolbar.addAction(self.actions[spec.name])
        self.progress.cancel_requested.connect(self.prediction.cancel)
        self.undo_stack.canUndoChanged.connect(self.actions["undo"].setEnabled)
        self.undo_stack.canRedoChanged.connect(self.actions["redo"].setEnabled)
        self.undo_stack.undoTextChanged.connect(lambda text: self.actions["undo"].setText(f"&Undo {text}"))
        self.undo_stack.redoTextChanged.connect(lambda text: self.actions["redo"].setText(f"&Redo {text}"))
        self.actions["undo"].setEnabled(False)
        self.actions["redo"].setEnabled(False)
        self.actions["cancel_prediction"].setEnabled(False)

    def _connect(self) -> None:
        self.models.notice.connect(lambda message, level, topic: self.notices.add(message, level, topic))
        self.models.notices_over.connect(self.notices.clear_topic)
        self.models.status.connect(lambda message: self.statusBar().showMessage(message, 10000))
        self.recent.changed.connect(self._show_recent_folders)
        self.welcome.choose_requested.connect(self.choose_folder)
        self.welcome.open_requested.connect(self.open_folder)
        self.welcome.forget_requested.connect(self.recent.forget)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _: self._show_row(current.row()))
        self.histogram.bucket_selected.connect(self._filter_by_bucket)
        self.face_list.show_all_requested.connect(lambda: self.histogram.select_bar(None))
        canvas = self.canvas
        canvas.point_dragged.connect(lambda i, x, y, g: self._push_move(i, (x, y), g))
        canvas.point_placed.connect(lambda i, x, y: self._push_move(i, (x, y), None))
        canvas.box_dragged.connect(lambda face, box, g: self._push(commands.MoveBoxCommand(self.project, face, box, g)))
        canvas.box_drawn.connect(self._add_box)
        canvas.box_gesture_finished.connect(self.prediction.start)  # a moved box needs a new prediction
        canvas.face_clicked.connect(lambda face: self.select_face(face, fit=False))
        canvas.point_selected.connect(lambda _: self.propagation.preload(self.prediction.model_path))
        canvas.point_selected.connect(lambda _: self._show_edit_hint())
        p = self.prediction
        p.progress.connect(self.progress.show_progress)
        p.running_changed.connect(self._on_running_changed)
        p.finished.connect(self._on_prediction_finished)
        p.failed.connect(self._on_prediction_failed)
        p.model_loaded.connect(lambda device: self.statusBar().showMessage(f"Predicting on {device}", 5000))

    def _check_model(self) -> None:
        path = self.prediction.model_path or BUNDLED_MODEL
        if not Path(path).is_file():
            self.notices.add(f"No model file at {path}: faces can be reviewed and edited but not predicted. "
                             "Choose a model with File → Choose Model… (or start with --model PATH).",
                             topic="model")

    # -- folders -------------------------------------------------------------------------
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
        events = project.events
        events.face_changed.connect(self._on_face_changed)
        events.faces_changed.connect(self._on_faces_changed)
        events.faces_detected.connect(self._on_faces_detected)
        events.image_changed.connect(self._on_image_changed)
        events.predictions_changed.connect(self._on_predictions_changed)
        events.save_failed.connect(lambda message: self.notices.add(f"Not saved: {message}", "error", topic="save"))
        self.setWindowTitle(f"{project.folder.name} — UGLLI Review")
        self.faces.set_project(project)
        self.prediction.set_project(project)
        self.models.folder_opened(project)
        self._refresh_scores()
        if self.remember:
            self.recent.remember(project.folder)
        self.statusBar().clearMessage()  # "Reading the folder…" is over
        self._show_page()
        self.face_list.select_row(0)
        self._opening_image = self.canvas.image   # shown until the reviewer goes elsewhere
        if self.auto_predict:
            self.prediction.start()
        return True

    def _show_reading_progress(self, done: int, total: int) -> None:
        if total:
            self.statusBar().showMessage(f"Reading the folder: {done:,} / {total:,} new images")

    def close_project(self) -> None:
        if self.project is None:
            return
        self.prediction.set_project(None)
        self.models.folder_closed()
        for dialog in (self.fine_tune_dialog, self.versions_dialog):
            if dialog is not None:
                dialog.hide()
        self.undo_stack.clear()
        self.faces.set_project(None)
        self.canvas.show_image(None, None)
        self.pixmaps.clear()
        self.project.close()
        self.project = None

    def close_folder(self) -> None:
        """File → Close Folder: back to the welcome panel (where the next session starts too)."""
        self.close_project()
        self.recent.closed()
        self._show_page()
        self._update_status()
        self._show_edit_hint()

    def _show_page(self) -> None:
        """The canvas and the side panels while a folder is open, else the welcome panel."""
        self.pages.setCurrentWidget(self.canvas if self.project is not None else self.welcome)
        for dock in self.findChildren(QDockWidget):
            dock.setVisible(self.project is not None)
        for name, action in self.actions.items():
            if name not in WITHOUT_FOLDER | OWN_STATE:
                action.setEnabled(self.project is not None)
        if self.project is None:
            self._show_recent_folders()   # a folder may have gone missing meanwhile

    def _show_recent_folders(self) -> None:
        self.recent.fill_menu(self.recent_menu, self.open_folder)
        self.welcome.show_folders(self.recent.folders())

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of face images")
        if folder:
            self.open_folder(folder)

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an UGLLI model", "", "UGLLI model (*.pt)")
        if path:
            self.models.use_base_model(Path(path))

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.open_folder(paths[0] if paths[0].is_dir() else paths[0].parent)
            event.acceptProposedAction()

    # -- prediction ------------------------------------------------------------------------
    def predict_now(self) -> None:
        """Review → Predict: predict what the folder lacks, or say that nothing is left."""
        if self.project is not None and not self.prediction.start():
            self.statusBar().showMessage("Nothing left to predict: every face has a prediction", 5000)

    def _on_running_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.actions["cancel_prediction"].setEnabled(running)
        self.actions["predict"].setEnabled(not running)

    def _on_prediction_finished(self, cancelled: bool) -> None:
        if not cancelled:
            self.notices.clear_topic("model")   # a model predicted: whatever was wrong with one is over
        self._refresh_scores()
        self.statusBar().showMessage("Prediction cancelled" if cancelled else "Prediction finished", 5000)
        self._show_where_the_work_is()
        self.prediction_done.emit()

    def _show_where_the_work_is(self) -> None:
        """After the first run on a folder, show its most uncertain face, unless the
        reviewer has gone elsewhere or edited something meanwhile."""
        opening, self._opening_image = self._opening_image, None
        if self.project is None or opening is None or self.canvas.image is not opening or self.undo_stack.count():
            return
        scored = [face for face in self.project.faces() if face.uncertainty is not None]
        if scored:
            self.select_face(max(scored, key=lambda face: face.uncertainty))

    def _on_prediction_failed(self, message: str) -> None:
        self.notices.add(message, "error", topic="model")
        self._refresh_scores()
        self.prediction_done.emit()

    # -- the model changed -------------------------------------------------------------------
    def _on_face_changed(self, face: Face) -> None:
        self._edit_saved()
        self.faces.items_changed([face])
        if face.image is self.canvas.image:
            self.canvas.refresh()
        if face is self.canvas.face:
            self._show_edit_hint()    # e.g. the selected point is now reviewed
        self._status_timer.start()

    def _on_faces_changed(self, image: ImageEntry) -> None:
        """Faces added or removed (by the reviewer, or undo): the rows change at once,
        so that no row ever shows a removed face."""
        self._edit_saved()
        self._rebuild_rows(changed=image)
        self._score_timer.start()

    def _edit_saved(self) -> None:
        """An edit was saved: an earlier failure to save is over, and the last export's
        report (or its 'nothing to export') is out of date."""
        self.notices.clear_topic("save")
        self.notices.clear_topic("export")

    def _on_faces_detected(self, image: ImageEntry) -> None:
        """The detector adds faces image after image: rebuild the rows once in a while."""
        if image is self.canvas.image:
            self._rebuild_rows(changed=image)
        else:
            self._rows_timer.start()
        self._score_timer.start()

    def _rebuild_rows(self, changed: ImageEntry | None = None) -> None:
        current = self.canvas.face
        if changed is not None and changed is self.canvas.image:
            if current is None or current not in changed.faces:
                current = changed.faces[0] if changed.faces else None
            self.canvas.refresh()
        self.faces.rebuild()
        target = current or self.canvas.image
        if target is not None:
            self._reselect(target)

    def _on_image_changed(self, image: ImageEntry) -> None:
        self.faces.image_changed(image)

    def _on_predictions_changed(self, faces: list[Face]) -> None:
        self.faces.items_changed(faces)
        if self.canvas.face in faces:
            self.canvas.refresh()
        self._score_timer.start()

    def _refresh_scores(self) -> None:
        """Re-sort the list and redraw the histogram (coalesced while predictions stream in)."""
        self.faces.resort()
        faces = list(self.project.faces()) if self.project else []
        self.histogram.set_values([f.uncertainty for f in faces if f.uncertainty is not None])
        self._update_status()

    def _update_status(self) -> None:
        if self.project is None:
            self.status_label.setText("Open a folder of face images (File → Open Folder…, or drop it here)")
            return
        self.status_label.setText(self.project.summary())

    # -- selection ---------------------------------------------------------------------------
    def select_face(self, face: Face, fit: bool = True) -> None:
        if self.faces.row_of(face) < 0 and self.faces.bucket is not None:  # hidden by the histogram filter
            self.histogram.select_bar(None)
        self._select(face, fit)

    def _reselect(self, item: Face | ImageEntry) -> None:
        """Select again what was shown, after the rows changed, without moving the view."""
        self._select(item, fit=False)

    def _select(self, item: Face | ImageEntry, fit: bool) -> None:
        self._fit_next = fit  # read by _show_row, which the selection calls synchronously
        try:
            self.face_list.select(item)
        finally:
            self._fit_next = True

    def _show_row(self, row: int) -> None:
        entry = self.faces.row_at(row)
        if entry is None:
            return
        if entry.image is not self.canvas.image:
            self._show_image(entry.image)
        if entry.face is not self.canvas.face:
            self.canvas.show_face(entry.face, fit=self._fit_next)

    def _show_image(self, image: ImageEntry) -> None:
        try:
            pixmap = self.pixmaps.get(self.project.image_path(image))
        except ImageReadError as exc:
            self.canvas.show_image(image, None, str(exc))
            if not image.unreadable:
                self.project.record_image_problem(image, str(exc), unreadable=True)
            return
        self.canvas.show_image(image, pixmap)

    def step_face(self, step: int) -> None:
        self.face_list.select_row(self.face_list.current_row() + step)

    def step_point(self, step: int) -> None:
        if self.canvas.face is not None and self.canvas.face.points is not None:
            index = (self.canvas.selected_point + step) % 68 if self.canvas.selected_point >= 0 else 0
            self.canvas.select_point(index)
            self.canvas.centre_on_point(index)

    def next_uncertain_point(self) -> None:
        if self.project is None:
            return
        face, index = self.canvas.face, self.canvas.selected_point
        found = next_uncertain_point(self.project.faces(), (face, index) if face and index >= 0 else None)
        if found is None:
            self.statusBar().showMessage("No unreviewed point left", 5000)
            return
        face, index = found
        self.select_face(face, fit=False)
        self.canvas.fit_face()          # from any zoom: the whole face, then the point within it
        self.canvas.select_point(index)
        self.canvas.show_point(index)

    def _set_box_mode(self, on: bool) -> None:
        self.canvas.set_box_mode(on)
        self._show_edit_hint()

    def _show_edit_hint(self) -> None:
        """The point selected and what the mouse does now, kept in the status bar."""
        self.edit_hint.setText(edit_hint(self.canvas.face, self.canvas.selected_point, self.canvas.box_mode))

    def _fit_face(self) -> None:
        if self.canvas.face is not None:
            self.canvas.fit_face()

    def _filter_by_bucket(self, bucket) -> None:
        face = self.canvas.face
        self.faces.set_bucket(bucket)
        self.face_list.show_filter(bucket)
        if face is None or self.faces.row_of(face) < 0:
            self.face_list.select_row(0)
        else:
            self._reselect(face)

    # -- editing (every edit is an undoable command) --------------------------------------------
    def _push(self, command) -> None:
        if self.project is not None:
            self.undo_stack.push(command)

    def _push_move(self, index: int, xy: tuple[float, float], gesture: int | None) -> None:
        if self.canvas.face is not None:
            command = self.propagation.move_command(self.project, self.canvas.face, index, xy, gesture,
                                                    self.prediction.model_path)
            self._push(command)
            message = self.propagation.report(command)
            if message:
                self.statusBar().showMessage(message, 5000)

    def _set_propagation(self, on: bool) -> None:
        self.propagation.enabled = on
        self.statusBar().showMessage("A correction now moves the unreviewed points too" if on
                                     else "A correction now moves only the point itself", 5000)

    def nudge(self, dx: float, dy: float) -> None:
        face, index = self.canvas.face, self.canvas.selected_point
        if face is not None and index >= 0 and face.points is not None:
            x, y = face.points[index]
            self._push_move(index, (x + dx, y + dy), None)

    def toggle_point_reviewed(self) -> None:
        face, index = self.canvas.face, self.canvas.selected_point
        if face is not None and index >= 0:
            self._push(commands.SetPointReviewedCommand(self.project, face, index, not face.point_reviewed[index]))

    def accept_face(self) -> None:
        """Toggle the face's reviewed mark; accepting moves on to the next face."""
        face = self.canvas.face
        if face is None:
            return
        self._push(commands.SetFaceReviewedCommand(self.project, face, not face.reviewed))
        if face.reviewed:
            self.step_face(1)

    def delete_faces(self) -> None:
        """Delete the faces selected in the list (else the face shown) as one undo step."""
        faces = self.face_list.selected_faces() or [face for face in [self.canvas.face] if face is not None]
        self._delete_and_move_on(faces)

    def not_a_face(self) -> None:
        """The face shown is none (a detector's box on a hand, a letter): delete it, show the next."""
        if self.canvas.face is not None:
            self._delete_and_move_on([self.canvas.face], "Not a face")

    def _delete_and_move_on(self, faces: list[Face], text: str = "") -> None:
        if self.project is None or not faces:
            return
        following = self.faces.item_after(faces)
        self._push(commands.DeleteFacesCommand(self.project, faces, text))
        if following is not None:
            self._select(following, fit=True)
        done = f"{text}: deleted" if text else f"{len(faces)} face{'s' * (len(faces) > 1)} deleted"
        self.statusBar().showMessage(f"{done} (Edit → Undo brings {'them' if len(faces) > 1 else 'it'} back)", 5000)

    def _add_box(self, box: tuple) -> None:
        if self.canvas.image is None:
            return
        command = commands.AddFaceCommand(self.project, self.canvas.image, box)
        self._push(command)
        if command.face is not None:
            self.select_face(command.face, fit=False)
            self.prediction.start()

    # -- export ----------------------------------------------------------------------------------
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

    # -- the Model menu's dialogs --------------------------------------------------------------
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

    # -- misc ------------------------------------------------------------------------------------
    def _about(self) -> None:
        QMessageBox.about(self, "UGLLI Review", "Review and correct 68-point facial landmarks with a model "
                          "that says how sure it is of every point (UGLLI).")

    def closeEvent(self, event) -> None:
        if self.remember:
            save_window(self)
        self.prediction.shutdown()
        self.close_project()
        self.models.shutdown()
        super().closeEvent(event)
