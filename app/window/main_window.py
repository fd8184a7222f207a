"""The main window: builds the widgets, the workers and the window's parts, each given
exactly what it works with (:class:`.Folders` opens and closes folders and holds the open
project, :class:`.PageSwitch`, :class:`.DocumentEvents`, :class:`.Navigation`,
:class:`.Editing`, :class:`.Predicting`, :class:`.Exporting`, :class:`.ModelMenu`) and
connects every signal. It holds no review state itself."""
from __future__ import annotations

import atexit
import weakref
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox, QSizePolicy, QStackedWidget,
                               QVBoxLayout, QWidget)

from uglli_core import BUNDLED_MODEL

from ..dialogs.finetune_dialog import ask_stop_fine_tune
from ..dialogs.shortcuts_dialog import ShortcutsDialog
from ..document.project import Project
from ..document.propagation import Propagation
from ..views.canvas import FaceCanvas
from ..views.face_list import FaceListPanel
from ..views.histogram import UncertaintyHistogram
from ..views.image_cache import PixmapCache
from ..views.notice_bar import NoticeBar
from ..views.progress_panel import ProgressPanel
from ..views.welcome import WelcomePanel
from ..workers.folder_calibrator import TOPIC as CALIBRATION, FolderCalibrator
from ..workers.model_control import OTHER_MODEL, ModelControl
from ..workers.prediction import PredictionController
from .actions import NUDGES, build_menus, shortcut_rows
from .document_events import DocumentEvents
from .editing import Editing
from .exporting import Exporting
from .folders import TITLE, Folders
from .model_menu import ModelMenu
from .navigation import Navigation
from .page_switch import PageSwitch
from .predicting import Predicting
from .review_guide import review_guide
from .session import RecentFolders, restore_window, save_window


class MainWindow(QMainWindow):
    prediction_done = Signal()   # a run ended (finished, cancelled or failed)

    def __init__(self, model_path: Path | None = None, auto_predict: bool = True, remember: bool = True):
        """``auto_predict``: start predicting what a folder lacks as soon as it opens.
        ``remember``: restore the last session's window and keep this one's (its folders,
        size and panels) for the next; off for a one-off such as ``--screenshot``."""
        super().__init__()
        self.remember = remember
        self.setWindowTitle(TITLE)
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.undo_stack = QUndoStack(self)
        self.pixmaps = PixmapCache()
        self.prediction = PredictionController(model_path, self)
        self.recent = RecentFolders(self)
        self.models = ModelControl(self.prediction, self)  # Model menu: fine-tuning and versions
        self.calibrator = FolderCalibrator(self.models, self)  # calibrates to the folder as it is reviewed
        self.propagation = Propagation()  # a correction moves the unreviewed points
        _UNCLOSED.add(self)
        self._build_widgets()
        self.actions, self.recent_menu = build_menus(self)
        self._build_parts(auto_predict)
        self._connect_actions()
        self._connect()
        self._check_model()
        self.document_events.update_status()
        if remember:
            restore_window(self)     # size, place and panel sizes as the last session left them
        self.page_switch.show(None)

    @property
    def project(self) -> Project | None:
        """The open folder's project; None while none is open."""
        return self.folders.project

    def open_folder(self, folder: str | Path) -> bool:
        """Open ``folder`` (closing the current one); False, with a notice, when it cannot be."""
        return self.folders.open_folder(folder)

    def close_project(self) -> None:
        """Close the open folder, if any, and stay on the page shown."""
        self.folders.close_project()

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
        self.histogram = UncertaintyHistogram()
        self.docks = [self._dock("Faces", self.face_list), self._dock("Uncertainty over the folder", self.histogram)]
        self.resizeDocks(self.docks, [600, 220], Qt.Orientation.Vertical)
        self.resizeDocks(self.docks[:1], [600], Qt.Orientation.Horizontal)

        self.status_label = QLabel()
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # gives way first
        self.edit_hint = QLabel()       # what a click does now: the point selected, the mode
        self.progress = ProgressPanel()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.edit_hint)
        self.statusBar().addPermanentWidget(self.progress)

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        return dock

    def _build_parts(self, auto_predict: bool) -> None:
        def project_of() -> Project | None:
            return self.folders.project

        status_bar = self.statusBar()
        self.navigation = Navigation(canvas=self.canvas, face_list=self.face_list, histogram=self.histogram,
                                     hint=self.edit_hint, status_bar=status_bar, pixmaps=self.pixmaps,
                                     project_of=project_of)
        self.document_events = DocumentEvents(canvas=self.canvas, face_list=self.face_list,
                                              histogram=self.histogram, notices=self.notices,
                                              status_label=self.status_label, navigation=self.navigation,
                                              project_of=project_of, parent=self)
        self.editing = Editing(canvas=self.canvas, face_list=self.face_list, undo_stack=self.undo_stack,
                               propagation=self.propagation, prediction=self.prediction, navigation=self.navigation,
                               status_bar=status_bar, project_of=project_of, dialog_parent=self)
        self.predicting = Predicting(prediction=self.prediction, models=self.models, notices=self.notices,
                                     status_bar=status_bar, document_events=self.document_events,
                                     navigation=self.navigation, undo_stack=self.undo_stack, project_of=project_of,
                                     done=self.prediction_done.emit)
        self.exporting = Exporting(notices=self.notices, project_of=project_of, dialog_parent=self)
        self.model_menu = ModelMenu(models=self.models, status_bar=status_bar, dialog_parent=self)
        self.page_switch = PageSwitch(pages=self.pages, canvas=self.canvas, welcome=self.welcome, docks=self.docks,
                                      actions=self.actions, recent=self.recent, recent_menu=self.recent_menu,
                                      open_folder=lambda folder: self.folders.open_folder(folder))
        self.folders = Folders(notices=self.notices, status_bar=status_bar, set_title=self.setWindowTitle,
                               undo_stack=self.undo_stack, prediction=self.prediction, models=self.models,
                               recent=self.recent, navigation=self.navigation, document_events=self.document_events,
                               show_page=self.page_switch.show, watch=self._watch,
                               hide_model_dialogs=self.model_menu.hide_dialogs, dialog_parent=self,
                               remember=self.remember, auto_predict=auto_predict)

    # -- wiring ------------------------------------------------------------------------
    def _connect_actions(self) -> None:
        canvas, navigation, editing, folders = self.canvas, self.navigation, self.editing, self.folders
        handlers = {
            "open_folder": folders.choose_folder, "close_folder": folders.close_folder,
            "choose_model": self.model_menu.choose_model, "export": self.exporting.choose_export,
            "quit": self.close, "undo": editing.undo, "redo": editing.redo,
            "box_mode": navigation.set_box_mode, "delete_faces": editing.delete_faces,
            "not_a_face": editing.not_a_face,
            "show_ellipses": lambda on: canvas.set_shown("ellipses", on),
            "show_contours": lambda on: canvas.set_shown("contours", on),
            "show_numbers": lambda on: canvas.set_shown("numbers", on),
            "show_legend": canvas.set_legend_shown,
            "fit_image": canvas.fit_image, "fit_face": navigation.fit_face,
            "zoom_in": lambda: canvas.zoom(1.25), "zoom_out": lambda: canvas.zoom(0.8),
            "predict": self.predicting.predict_now, "cancel_prediction": self.prediction.cancel,
            "next_face": lambda: navigation.step_face(1), "previous_face": lambda: navigation.step_face(-1),
            "next_uncertain_point": navigation.next_uncertain_point,
            "next_uncertain_in_face": navigation.next_uncertain_point_in_face,
            "next_point": lambda: navigation.step_point(1), "previous_point": lambda: navigation.step_point(-1),
            "toggle_point_reviewed": editing.toggle_point_reviewed, "accept_face": editing.accept_face,
            "toggle_occluded": editing.toggle_occluded, "turn_face": editing.turn_face,
            "deselect_point": lambda: canvas.select_point(-1),
            "propagate": editing.set_propagation,
            "fine_tune": self.model_menu.show_fine_tune, "model_versions": self.model_menu.show_versions,
            "calibrate_as_i_review": self.calibrator.set_on, "calibrate_now": self.calibrator.calibrate_now,
            "shortcuts": lambda: ShortcutsDialog(shortcut_rows(), review_guide(), self).exec(), "about": self._about,
        } | {name: (lambda checked=False, step=step: editing.nudge(*step)) for name, step in NUDGES.items()}
        for name, action in self.actions.items():
            action.triggered.connect(handlers[name])
        actions, undo_stack = self.actions, self.undo_stack
        undo_stack.canUndoChanged.connect(actions["undo"].setEnabled)
        undo_stack.canRedoChanged.connect(actions["redo"].setEnabled)
        undo_stack.undoTextChanged.connect(lambda text: actions["undo"].setText(f"&Undo {text}"))
        undo_stack.redoTextChanged.connect(lambda text: actions["redo"].setText(f"&Redo {text}"))
        for name in ("undo", "redo", "cancel_prediction"):
            actions[name].setEnabled(False)

    def _connect(self) -> None:
        self.progress.cancel_requested.connect(self.prediction.cancel)
        self.models.notice.connect(lambda message, level, topic: self.notices.add(message, level, topic))
        self.models.notices_over.connect(self.notices.clear_topic)
        self.models.status.connect(lambda message: self.statusBar().showMessage(message, 10000))
        # the notice of faces another model predicted offers to predict them again
        self.notices.offer(OTHER_MODEL, "Predict Them Again", self.models.predict_again)
        calibrator = self.calibrator
        calibrator.notice.connect(lambda message, level, topic: self.notices.add(message, level, topic))
        calibrator.notices_over.connect(self.notices.clear_topic)
        calibrator.status.connect(lambda message: self.statusBar().showMessage(message, 10000))
        calibrator.switched.connect(self.actions["calibrate_as_i_review"].setChecked)
        self.notices.offer(CALIBRATION, "Turn Off", lambda: calibrator.set_on(False))
        self.recent.changed.connect(self.page_switch.show_recent_folders)
        self.welcome.choose_requested.connect(self.folders.choose_folder)
        self.welcome.open_requested.connect(self.folders.open_folder)
        self.welcome.forget_requested.connect(self.recent.forget)
        navigation, editing = self.navigation, self.editing
        self.table.selectionModel().currentRowChanged.connect(lambda current, _: navigation.show_row(current.row()))
        self.histogram.bucket_selected.connect(navigation.filter_by_bucket)
        self.face_list.show_all_requested.connect(lambda: self.histogram.select_bar(None))
        canvas = self.canvas
        canvas.point_dragged.connect(lambda i, x, y, g: editing.push_move(i, (x, y), g))
        canvas.point_placed.connect(lambda i, x, y: editing.push_move(i, (x, y), None))
        canvas.box_dragged.connect(editing.move_box)
        canvas.box_drawn.connect(editing.add_box)
        canvas.box_gesture_finished.connect(self.prediction.start)  # a moved box needs a new prediction
        canvas.face_clicked.connect(lambda face: navigation.select_face(face, fit=False))
        canvas.point_selected.connect(lambda _: self.propagation.preload(self.prediction.model_path))
        canvas.point_selected.connect(lambda _: navigation.show_edit_hint())
        p = self.prediction
        p.progress.connect(self.progress.show_progress)
        p.running_changed.connect(self.progress.setVisible)
        p.running_changed.connect(self.actions["cancel_prediction"].setEnabled)
        p.running_changed.connect(lambda running: self.actions["predict"].setEnabled(not running))
        p.finished.connect(self.predicting.on_finished)
        p.failed.connect(self.predicting.on_failed)
        p.model_loaded.connect(lambda device: self.statusBar().showMessage(f"Predicting on {device}", 5000))

    def _watch(self, project: Project) -> None:
        """A folder was opened: its changes redraw the views that show them, and tell an
        undo or redo what it changed."""
        events, views = project.events, self.document_events
        events.face_changed.connect(views.on_face_changed)
        events.faces_changed.connect(views.on_faces_changed)
        events.faces_detected.connect(views.on_faces_detected)
        events.image_changed.connect(views.on_image_changed)
        events.predictions_changed.connect(views.on_predictions_changed)
        events.save_failed.connect(lambda message: self.notices.add(f"Not saved: {message}", "error", topic="save"))
        events.face_changed.connect(self.editing.note_change)
        events.faces_changed.connect(self.editing.note_change)

    def _check_model(self) -> None:
        path = self.prediction.model_path or BUNDLED_MODEL
        if not Path(path).is_file():
            self.notices.add(f"No model file at {path}: faces can be reviewed and edited but not predicted. "
                             "Choose a model with File → Choose Model… (or start with --model PATH).",
                             topic="model")

    # -- the window's own events ------------------------------------------------------------
    def _about(self) -> None:
        QMessageBox.about(self, TITLE, "Review and correct 68-point facial landmarks with a model "
                          "that says how sure it is of every point (UGLLI).")

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.folders.open_folder(paths[0] if paths[0].is_dir() else paths[0].parent)
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if self.models.trainer.running and not ask_stop_fine_tune(self):
            event.ignore()    # the run goes on, and the review with it
            return
        self.stop_workers()   # first: whatever fails below, no worker thread outlives the window
        if self.remember:
            save_window(self)
        self.folders.close_project()
        super().closeEvent(event)

    def stop_workers(self) -> None:
        """End the prediction and fine-tuning threads (after the batch or step in hand; a
        fine-tune's unfinished run is removed); the window's close does it, or the exit of a
        program that never closed it. Safe to call more than once."""
        _UNCLOSED.discard(self)
        self.prediction.shutdown()
        self.calibrator.shutdown()
        self.models.shutdown()


# Windows not closed yet: a program that stops without closing one (a script stopped by an
# error) must still end its threads, before Python frees them: a QThread destroyed running
# aborts the process. atexit runs this before the interpreter frees anything.
_UNCLOSED: weakref.WeakSet[MainWindow] = weakref.WeakSet()


@atexit.register
def _stop_unclosed_windows() -> None:
    for window in list(_UNCLOSED):
        window.stop_workers()
