"""Review → Predict, and what the window does when a prediction run ends."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QStatusBar

from ..document.project import Project
from ..views.notice_bar import NoticeBar
from ..workers.model_control import ModelControl
from ..workers.prediction import PredictionController
from .document_events import DocumentEvents
from .navigation import Navigation


class Predicting:
    """Starts runs of ``prediction`` (or of ``models``, for the faces another model
    predicted) on the open project (``project_of``). When one ends, ``document_events``
    scores the folder, ``navigation`` shows its worst face after the first run (unless
    ``undo_stack`` holds an edit), what went wrong goes to ``notices``, the rest to
    ``status_bar``, and ``done`` is called last."""

    def __init__(self, *, prediction: PredictionController, models: ModelControl, notices: NoticeBar,
                 status_bar: QStatusBar, document_events: DocumentEvents, navigation: Navigation,
                 undo_stack: QUndoStack, project_of: Callable[[], Project | None], done: Callable[[], None]):
        self.prediction, self.models, self.notices, self.status_bar = prediction, models, notices, status_bar
        self.document_events, self.navigation, self.undo_stack = document_events, navigation, undo_stack
        self.project_of, self.done = project_of, done

    def predict_now(self) -> None:
        """Review → Predict: predict what the folder lacks, then the unreviewed faces another
        model predicted, or say that nothing is left."""
        if self.project_of() is None or self.prediction.start():
            return
        if self.models.other_model_faces():
            count = self.models.predict_again()
            self.status_bar.showMessage(f"Predicting again the {count} unreviewed faces another model predicted",
                                        5000)
        else:
            self.status_bar.showMessage("Nothing left to predict: every face has a prediction of the model in use",
                                        5000)

    def on_finished(self, cancelled: bool) -> None:
        if not cancelled:
            self.notices.clear_topic("model")   # a model predicted: whatever was wrong with one is over
        self.document_events.refresh_scores()
        self.status_bar.showMessage("Prediction cancelled" if cancelled else "Prediction finished", 5000)
        self.navigation.show_where_the_work_is(edited=self.undo_stack.count() > 0)
        self.done()

    def on_failed(self, message: str) -> None:
        self.notices.add(message, "error", topic="model")
        self.document_events.refresh_scores()
        self.done()
