"""Face detection and landmark prediction on a worker thread.

:class:`PredictionWorker` is a QObject living in its own QThread; it loads the model
once, reads images, runs the detector where no boxes are known and predicts in
batches, checking its cancel flag between batches. It never touches the project:
results travel back by signal and :class:`PredictionController` (GUI thread) records
them. A result whose face has meanwhile been moved or deleted is dropped; that face
is still waiting and will be predicted on the next run, so a run resumes where the
last one stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from uglli_core import CheckpointError, ImageReadError, LandmarkPredictor, detect_faces, load_image
from uglli_core.geometry import Box

from .project import Project

BATCH_SIZE = 16


@dataclass(frozen=True)
class ImageJob:
    image_id: int
    path: Path
    detect: bool                 # run the detector first
    boxes: tuple[Box, ...]       # known faces still to predict


class PredictionWorker(QObject):
    """Every signal carries the number of the run it belongs to, so that results of a
    run the GUI has abandoned (another folder opened meanwhile) can be told apart."""
    model_loaded = Signal(int, str)            # run, device ("cpu", "cuda")
    detected = Signal(int, int, list)          # run, image id, boxes
    predicted = Signal(int, list)              # run, [(image id, (width, height), box, FacePrediction)]
    image_failed = Signal(int, int, str, bool)  # run, image id, message, unreadable
    progress = Signal(int, int, int)           # run, images done, images in the run
    finished = Signal(int, bool)               # run, cancelled
    failed = Signal(int, str)                  # run, why it could not go on

    def __init__(self):
        super().__init__()
        self._predictor: LandmarkPredictor | None = None
        self._predictor_path: Path | None = None
        self._cancelled_up_to = 0

    def cancel(self, run: int) -> None:
        """Called from the GUI thread: runs up to ``run`` stop before their next batch."""
        self._cancelled_up_to = max(self._cancelled_up_to, run)

    def _cancelled(self, run: int) -> bool:
        return run <= self._cancelled_up_to

    @Slot(int, object, list)
    def run(self, run: int, model_path: Path | None, jobs: list[ImageJob]) -> None:
        """Predict ``jobs`` with the model at ``model_path`` (None: the bundled one),
        loaded once and kept for the next runs."""
        try:
            if self._predictor is None or self._predictor_path != model_path:
                self._predictor = None
                self._predictor = LandmarkPredictor.load(model_path)
                self._predictor_path = model_path
            self.model_loaded.emit(run, self._predictor.device.type)
            self._run(run, jobs)
        except CheckpointError as exc:
            self.failed.emit(run, f"No model to predict with: {exc}. Choose one with File → Choose Model…")
        except Exception as exc:  # keep the app alive and say why the run stopped
            self.failed.emit(run, f"Prediction stopped: {type(exc).__name__}: {exc}")
        else:
            self.finished.emit(run, self._cancelled(run))

    def _run(self, run: int, jobs: list[ImageJob]) -> None:
        batch: list[tuple[int, np.ndarray, Box]] = []
        waiting = 0  # jobs whose faces sit in the batch
        for done, job in enumerate(jobs, start=1):
            if self._cancelled(run):
                return
            faces = self._faces_to_predict(run, job)
            batch += faces
            waiting += bool(faces)
            if len(batch) >= BATCH_SIZE:
                self._predict(run, batch)
                batch, waiting = [], 0
            self.progress.emit(run, done - waiting, len(jobs))
        if batch and not self._cancelled(run):
            self._predict(run, batch)
            self.progress.emit(run, len(jobs), len(jobs))

    def _faces_to_predict(self, run: int, job: ImageJob) -> list[tuple[int, np.ndarray, Box]]:
        try:
            image = load_image(job.path)
        except ImageReadError as exc:
            self.image_failed.emit(run, job.image_id, str(exc), True)
            return []
        boxes = job.boxes
        if job.detect:
            try:
                boxes = tuple(tuple(float(v) for v in box) for box in detect_faces(image))
            except ImportError:
                self.image_failed.emit(run, job.image_id, "the face detector is not installed: "
                                       "draw the face boxes by hand (Edit → Face Boxes)", False)
                return []
            except Exception as exc:  # one image's failure must not end the run
                self.image_failed.emit(run, job.image_id, f"the face detector failed: {exc}", False)
                return []
            self.detected.emit(run, job.image_id, list(boxes))
        return [(job.image_id, image, box) for box in boxes]

    def _predict(self, run: int, batch: list[tuple[int, np.ndarray, Box]]) -> None:
        predictions = self._predictor.predict_faces([(image, box) for _, image, box in batch], BATCH_SIZE)
        self.predicted.emit(run, [(image_id, (image.shape[1], image.shape[0]), box, p)
                                  for (image_id, image, box), p in zip(batch, predictions)])


class PredictionController(QObject):
    """The GUI thread's side: turns a project's pending work into jobs and records results."""
    progress = Signal(int, int)
    running_changed = Signal(bool)
    finished = Signal(bool)            # cancelled
    failed = Signal(str)
    model_loaded = Signal(str)
    _start = Signal(int, object, list)

    def __init__(self, model_path: Path | None, parent: QObject | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.model_path = model_path          # None: the bundled model
        self.running = False
        self._run = 0
        self._again = False   # work was added during the run: start another when it ends
        self._thread = QThread()
        self._thread.setObjectName("prediction")
        self._worker = PredictionWorker()
        self._worker.moveToThread(self._thread)
        self._start.connect(self._worker.run)
        self._worker.model_loaded.connect(self._on_model_loaded)
        self._worker.detected.connect(self._on_detected)
        self._worker.predicted.connect(self._on_predicted)
        self._worker.image_failed.connect(self._on_image_failed)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()
        QCoreApplication.instance().aboutToQuit.connect(self.shutdown)

    def set_project(self, project: Project | None) -> None:
        self.stop()
        self.project = project

    def start(self) -> bool:
        """Predict what the project still lacks (after the current run, if one is going);
        False when there is nothing to do."""
        if self.project is None:
            return False
        if self.running:
            self._again = True
            return True
        jobs = [ImageJob(image.id, self.project.image_path(image), image.needs_detection,
                         tuple(face.box for face in image.faces if face.prediction is None))
                for image in self.project.pending_work()]
        if not jobs:
            return False
        self._run += 1
        self._set_running(True)
        self._start.emit(self._run, self.model_path, jobs)
        return True

    def stop(self) -> None:
        """Cancel the current run and ignore whatever it still sends."""
        self._worker.cancel(self._run)
        self._again = False
        if self.running:  # what the run still sends is ignored: it is no longer running
            self._set_running(False)
            self.finished.emit(True)

    def cancel(self) -> None:
        """Stop after the current batch; what is predicted so far is kept."""
        self._again = False
        self._worker.cancel(self._run)

    def shutdown(self) -> None:
        """Stop the thread (waits for the batch in hand); safe to call more than once."""
        self.stop()
        self._thread.quit()
        self._thread.wait()

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.running_changed.emit(running)

    # -- results (GUI thread) ------------------------------------------------------
    def _current(self, run: int) -> bool:
        return run == self._run and self.running

    def _on_model_loaded(self, run: int, device: str) -> None:
        if self._current(run):
            self.model_loaded.emit(device)

    def _on_detected(self, run: int, image_id: int, boxes: list) -> None:
        if self._current(run):
            self.project.record_detection(self.project.image(image_id), boxes)

    def _on_predicted(self, run: int, results: list) -> None:
        if not self._current(run):
            return
        matched, sizes = [], {}
        for image_id, size, box, prediction in results:
            image = self.project.image(image_id)
            sizes[image] = size
            face = next((f for f in image.faces if f.prediction is None and f.box == box), None)
            if face is not None:  # else the box was moved or deleted meanwhile
                matched.append((face, prediction))
        self.project.record_predictions(matched, sizes)

    def _on_image_failed(self, run: int, image_id: int, message: str, unreadable: bool) -> None:
        if self._current(run):
            self.project.record_image_problem(self.project.image(image_id), message, unreadable)

    def _on_progress(self, run: int, done: int, total: int) -> None:
        if self._current(run):
            self.progress.emit(done, total)

    def _on_finished(self, run: int, cancelled: bool) -> None:
        if self._current(run):
            self._set_running(False)
            if self._again and not cancelled:
                self._again = False
                if self.start():
                    return
            self.finished.emit(cancelled)

    def _on_failed(self, run: int, message: str) -> None:
        if self._current(run):
            self._again = False
            self._set_running(False)
            self.failed.emit(message)
