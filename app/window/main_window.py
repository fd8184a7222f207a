"""The main window: wires the project (model), the face list, the canvas, the histogram,
the prediction worker and the undo stack together. It holds no review state itself.

What it does is split by concern into the mixins it is made of: :mod:`.folders`,
:mod:`.document_events`, :mod:`.navigation`, :mod:`.editing`, :mod:`.exporting` and
:mod:`.model_menu`; this module builds the window and follows prediction runs."""
from __future__ import annotations

import atexit
import weakref
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox, QSizePolicy, QStackedWidget,
                               QVBoxLayout, QWidget)

from uglli_core import BUNDLED_MODEL

from ..dialogs.finetune_dialog import FineTuneDialog, ask_stop_fine_tune
from ..dialogs.shortcuts_dialog import ShortcutsDialog
from ..dialogs.versions_dialog import VersionsDialog
from ..document.project import ImageEntry, Project
from ..document.propagation import Propagation
from ..views.canvas import FaceCanvas
from ..views.face_list import FaceListPanel
from ..views.histogram import UncertaintyHistogram
from ..views.image_cache import PixmapCache
from ..views.notice_bar import NoticeBar
from ..views.progress_panel import ProgressPanel
from ..views.welcome import WelcomePanel
from ..workers.model_control import OTHER_MODEL, ModelControl
from ..workers.prediction import PredictionController
from .actions import ACTIONS, NUDGES, make_action, shortcut_rows
from .document_events import DocumentEvents
from .editing import Editing
from .exporting import Exporting
from .folders import Folders
from .model_menu import ModelMenu
from .navigation import Navigation
from .review_guide import review_guide
from .session import RecentFolders, restore_window, save_window

SCORE_REFRESH_MS = 300


class MainWindow(Folders, DocumentEvents, Navigation, Editing, Exporting, ModelMenu, QMainWindow):
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
        self.prediction = PredictionController(model_path, self)
        self.recent = RecentFolders(self)
        self.models = ModelControl(self.prediction, self)  # Model menu: fine-tuning and versions
        self.fine_tune_dialog: FineTuneDialog | None = None   # made on first use
        self.versions_dialog: VersionsDialog | None = None
        self.propagation = Propagation()  # a correction moves the unreviewed points
        _UNCLOSED.add(self)
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
            "quit": self.close, "undo": self.undo_edit, "redo": self.redo_edit,
            "box_mode": self._set_box_mode, "delete_faces": self.delete_faces,
            "not_a_face": self.not_a_face,
            "show_ellipses": lambda on: self.canvas.set_shown("ellipses", on),
            "show_contours": lambda on: self.canvas.set_shown("contours", on),
            "show_numbers": lambda on: self.canvas.set_shown("numbers", on),
            "show_legend": self.canvas.set_legend_shown,
            "fit_image": self.canvas.fit_image, "fit_face": self._fit_face,
            "zoom_in": lambda: self.canvas.zoom(1.25), "zoom_out": lambda: self.canvas.zoom(0.8),
            "predict": self.predict_now, "cancel_prediction": self.prediction.cancel,
            "next_face": lambda: self.step_face(1), "previous_face": lambda: self.step_face(-1),
            "next_uncertain_point": self.next_uncertain_point,
            "next_uncertain_in_face": self.next_uncertain_point_in_face,
            "next_point": lambda: self.step_point(1), "previous_point": lambda: self.step_point(-1),
            "toggle_point_reviewed": self.toggle_point_reviewed, "accept_face": self.accept_face,
            "deselect_point": lambda: self.canvas.select_point(-1),
            "propagate": self._set_propagation,
            "fine_tune": self.show_fine_tune, "model_versions": self.show_versions,
            "shortcuts": lambda: ShortcutsDialog(shortcut_rows(), review_guide(), self).exec(), "about": self._about,
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
        # the notice of faces another model predicted offers to predict them again
        self.notices.offer(OTHER_MODEL, "Predict Them Again", self.models.predict_again)
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
        canvas.box_dragged.connect(self._move_box)
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

    # -- prediction ------------------------------------------------------------------------
    def predict_now(self) -> None:
        """Review → Predict: predict what the folder lacks, then the unreviewed faces another
        model predicted, or say that nothing is left."""
        if self.project is None or self.prediction.start():
            return
        if self.models.other_model_faces():
            count = self.models.predict_again()
            self.statusBar().showMessage(f"Predicting again the {count} unreviewed faces another model predicted",
                                         5000)
        else:
            self.statusBar().showMessage("Nothing left to predict: every face has a prediction of the model in use",
                                         5000)

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

    def _on_prediction_failed(self, message: str) -> None:
        self.notices.add(message, "error", topic="model")
        self._refresh_scores()
        self.prediction_done.emit()

    # -- misc ------------------------------------------------------------------------------------
    def _about(self) -> None:
        QMessageBox.about(self, "UGLLI Review", "Review and correct 68-point facial landmarks with a model "
                          "that says how sure it is of every point (UGLLI).")

    def closeEvent(self, event) -> None:
        if self.models.trainer.running and not ask_stop_fine_tune(self):
            event.ignore()    # the run goes on, and the review with it
            return
        self.stop_workers()   # first: whatever fails below, no worker thread outlives the window
        if self.remember:
            save_window(self)
        self.close_project()
        super().closeEvent(event)

    def stop_workers(self) -> None:
        """End the prediction and fine-tuning threads (after the batch or step in hand; a
        fine-tune's unfinished run is removed); the window's close does it, or the exit of a
        program that never closed it. Safe to call more than once."""
        _UNCLOSED.discard(self)
        self.prediction.shutdown()
        self.models.shutdown()


# Windows not closed yet: a program that stops without closing one (a script stopped by an
# error) must still end its threads, before Python frees them: a QThread destroyed running
# aborts the process. atexit runs this before the interpreter frees anything.
_UNCLOSED: weakref.WeakSet[MainWindow] = weakref.WeakSet()


@atexit.register
def _stop_unclosed_windows() -> None:
    for window in list(_UNCLOSED):
        window.stop_workers()
