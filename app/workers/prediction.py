"""Face detection and landmark prediction on a worker thread.

:class:`PredictionWorker` is a QObject living in its own QThread; it loads the model
once and predicts in batches on a thread of its own (``NetworkLane``), checking its
cancel flag between images, while read-ahead threads decode the next images and run
the detector where no boxes are known. It never touches the project:
results travel back by signal and :class:`PredictionController` (GUI thread) records
them. A result whose face has meanwhile been moved or deleted is dropped; that face
is still waiting and will be predicted on the next run, so a run resumes where the
last one stopped. The controller hands the worker a run's images a chunk at a time,
made from the project as it is then, so that a run over 50,000 images starts at once.

Boxes and annotations that came from the folder's files are checked against their
image here, once it is read (opening the folder reads no image): a face whose box
(or whose annotation) cannot belong to the image is refused with the reason, as
``uglli predict`` refuses such a row, and is not predicted.
"""
from __future__ import annotations

import os
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from uglli_core import (CheckpointError, ImageReadError, LandmarkPredictor, NetworkLane, Prepared, annotation_files,
                        detect_faces, load_image, network_threads, read_ahead)
from uglli_core.files.images import box_problem
from uglli_core.files.records import MANIFEST_NAME, tight_box
from uglli_core.inference.read_ahead import BATCH_MAX_BYTES, distinct_bytes
from uglli_core.maths.geometry import Box
from uglli_core.nets.checkpoint import model_identity

from ..document.faces import BoxSource, Face
from ..document.project import Project
from .threads import start_worker_thread

BATCH_SIZE = 16
CHUNK_IMAGES = 256   # images handed to the worker at a time: a run over 50,000 starts at once


class FaceJob(NamedTuple):
    """A known face still to predict."""
    box: Box
    source: BoxSource
    index: int                             # 1-based place in its image
    annotation_box: Box | None = None      # tight box of its .pts points, to check against the image
    turn: int | None = None                # how far it is turned (Face.turn); None: not known

    @classmethod
    def of(cls, face: Face) -> "FaceJob":
        annotation = None if face.annotation is None else tight_box(face.annotation)
        return cls(face.box, face.box_source, face.index, annotation, face.turn)


class ImageJob(NamedTuple):
    image_id: int
    path: str
    detect: bool                 # run the detector first
    faces: tuple[FaceJob, ...]   # known faces still to predict


def refusal(job: ImageJob, face: FaceJob, size: tuple[int, int]) -> tuple[str, bool] | None:
    """Why a face from the folder's files cannot belong to an image of ``size`` (width,
    height), and whether the whole face goes (else only its annotation); None when it fits."""
    if face.source is BoxSource.MANIFEST:
        problem = box_problem(face.box, size, f"{MANIFEST_NAME} box")
        if problem:
            return problem, True
    if face.annotation_box is not None and face.source in (BoxSource.MANIFEST, BoxSource.ANNOTATION):
        problem = box_problem(face.annotation_box, size, "landmark box")
        if problem:
            return f"{_pts_name(job, face)}: {problem}", face.source is BoxSource.ANNOTATION
    return None


def _pts_name(job: ImageJob, face: FaceJob) -> str:
    """The .pts file a face's annotation came from (see :func:`app.document.scan.scan_folder`)."""
    image = Path(job.path)
    if face.source is BoxSource.ANNOTATION:
        files = dict(annotation_files(image))
        if face.index in files:
            return files[face.index].name
    return image.with_suffix(".pts").name


def _first_line(message: str) -> str:
    """A message without the library's detail that may follow it on more lines (e.g. torch's
    list of every weight whose shape does not fit), and without a bracket left open."""
    line = message.split("\n", 1)[0].rstrip()
    if line.count("(") > line.count(")"):
        line = line[:line.rfind("(")].rstrip()
    return line


def _read(job: ImageJob) -> tuple[np.ndarray, list[Box], str | None]:
    """On a read-ahead thread: the image and, when the job asks for the detector, its
    boxes or why it failed (one image's failure must not end the run)."""
    image = load_image(job.path)
    if not job.detect:
        return image, [], None
    try:
        return image, [tuple(float(v) for v in box) for box in detect_faces(image)], None
    except ImportError:
        return image, [], "the face detector is not installed: draw the face boxes by hand (Edit → Face Boxes)"
    except Exception as exc:
        return image, [], f"the face detector failed: {exc}"


class PredictionWorker(QObject):
    """Every signal carries the number of the run it belongs to, so that results of a
    run the GUI has abandoned (another folder opened meanwhile) can be told apart."""
    model_loaded = Signal(int, str)            # run, device ("cpu", "cuda")
    detected = Signal(int, int, list)          # run, image id, boxes
    predicted = Signal(int, list)              # run, [(image id, (width, height), box, FacePrediction)]
                                               # (the prediction's turn: the face's, or the one it found)
    image_failed = Signal(int, int, str, bool)  # run, image id, message, unreadable
    refused = Signal(int, int, object, list)   # run, image id, (width, height), [(box, why, whole face)]
    progress = Signal(int, int, int)           # run, images done, images in the run
    finished = Signal(int, bool)               # run, cancelled (the chunk of the run is done)
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

    @Slot(int, object, list, int, int)
    def run(self, run: int, model_path: Path | None, jobs: list[ImageJob], done_before: int = 0,
            total: int | None = None) -> None:
        """Predict ``jobs`` (one chunk of a run of ``total`` images, ``done_before`` of them
        done) with the model at ``model_path`` (None: the bundled one), loaded once and
        kept for the next runs, until the file at that path is another model."""
        try:
            if (self._predictor is None or self._predictor_path != model_path
                    or self._predictor.identity != model_identity(model_path)):
                self._predictor = None
                self._predictor = LandmarkPredictor.load(model_path)
                self._predictor_path = model_path
            self.model_loaded.emit(run, self._predictor.device.type)
            self._run(run, jobs, done_before, len(jobs) if total is None else total)
        except CheckpointError as exc:
            self.failed.emit(run, f"No model to predict with: {_first_line(str(exc))}. "
                                  f"Choose one with File → Choose Model…")
        except Exception as exc:  # keep the app alive and say why the run stopped
            self.failed.emit(run, f"Prediction stopped: {type(exc).__name__}: {exc}")
        else:
            self.finished.emit(run, self._cancelled(run))

    def _run(self, run: int, jobs: list[ImageJob], done_before: int, total: int) -> None:
        batch: list[tuple[int, np.ndarray, Box, int | None]] = []
        waiting = 0    # jobs whose faces sit in the batch
        on_network = 0  # ... and in the batch the network is running
        detecting = any(job.detect for job in jobs)
        with (network_threads(detecting),
              NetworkLane(lambda faces: self._predict(run, faces)) as network,  # the batch runs while the next is read
              closing(read_ahead(jobs, _read)) as prepared_jobs):  # closing drops the reads not started
            for done, prepared in enumerate(prepared_jobs, start=done_before + 1):
                if self._cancelled(run):
                    return
                faces = self._faces_to_predict(run, prepared)
                batch += faces
                waiting += bool(faces)
                if len(batch) >= BATCH_SIZE or distinct_bytes(image for _, image, _, _ in batch) >= BATCH_MAX_BYTES:
                    network.submit(batch)
                    batch, waiting, on_network = [], 0, waiting
                self.progress.emit(run, done - waiting - on_network, total)
            network.wait()
        if batch and not self._cancelled(run):
            self._predict(run, batch)
        if not self._cancelled(run):
            self.progress.emit(run, done_before + len(jobs), total)

    def _faces_to_predict(self, run: int, prepared: Prepared) -> list[tuple[int, np.ndarray, Box, int | None]]:
        job = prepared.item
        if isinstance(prepared.error, ImageReadError):
            self.image_failed.emit(run, job.image_id, str(prepared.error), True)
            return []
        if prepared.error is not None:
            raise prepared.error
        image, detected, detector_failure = prepared.result
        size = (image.shape[1], image.shape[0])
        boxes, refused = [], []
        for face in job.faces:
            why = refusal(job, face, size)
            if why is None:
                boxes.append((face.box, face.turn))
            else:
                refused.append((face.box, *why))
                if not why[1]:
                    boxes.append((face.box, face.turn))  # only the annotation goes: the box is fine
        if refused:
            self.refused.emit(run, job.image_id, size, refused)
        if job.detect:
            if detector_failure:
                self.image_failed.emit(run, job.image_id, detector_failure, False)
                return []
            boxes = [(box, None) for box in detected]
            self.detected.emit(run, job.image_id, list(detected))
        return [(job.image_id, image, box, turn) for box, turn in boxes]

    def _predict(self, run: int, batch: list[tuple[int, np.ndarray, Box, int | None]]) -> None:
        predictions = self._predictor.predict_faces([(image, box, turn) for _, image, box, turn in batch], BATCH_SIZE)
        predictions = [replace(p, model=self._predictor.identity) for p in predictions]  # kept with each
        self.predicted.emit(run, [(image_id, (image.shape[1], image.shape[0]), box, p)
                                  for (image_id, image, box, _), p in zip(batch, predictions)])


class PredictionController(QObject):
    """The GUI thread's side: turns a project's pending work into jobs and records results."""
    progress = Signal(int, int)
    running_changed = Signal(bool)
    finished = Signal(bool)            # cancelled
    failed = Signal(str)
    model_loaded = Signal(str)
    _start = Signal(int, object, list, int, int)

    def __init__(self, model_path: Path | None, parent: QObject | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.model_path = model_path          # None: the bundled model
        self.running = False
        self._run = 0
        self._again = False   # work was added during the run: start another when it ends
        self._queue: list = []   # the images of the run
        self._sent = 0           # how many of them the worker has been handed
        self._worker = PredictionWorker()
        self._thread = start_worker_thread("prediction", self._worker)
        self._start.connect(self._worker.run)
        self._worker.model_loaded.connect(self._on_model_loaded)
        self._worker.detected.connect(self._on_detected)
        self._worker.predicted.connect(self._on_predicted)
        self._worker.image_failed.connect(self._on_image_failed)
        self._worker.refused.connect(self._on_refused)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
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
        pending = self.project.pending_work()
        if not pending:
            return False
        self._run += 1
        self._queue, self._sent = pending, 0
        self._set_running(True)
        self._send_chunk()
        return True

    def _send_chunk(self) -> None:
        """Hand the worker the next images of the run, as they are now (a box moved since
        the run started is predicted where it is now)."""
        chunk = self._queue[self._sent:self._sent + CHUNK_IMAGES]
        done_before, self._sent = self._sent, self._sent + len(chunk)
        folder = f"{self.project.folder}{os.sep}"
        jobs = [ImageJob(image.id, folder + image.path, image.needs_detection,
                         tuple(FaceJob.of(face) for face in image.faces if face.prediction is None))
                for image in chunk if self.project.image(image.id) is image and not image.unreadable]
        self._start.emit(self._run, self.model_path, jobs, done_before, len(self._queue))

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
        if self._current(run) and self._sent <= CHUNK_IMAGES:  # said once a run
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
            face = next((f for f in image.faces if f.prediction is None and f.box == box
                         and f.turn in (None, prediction.turn)), None)
            if face is not None:  # else the box was moved, the face turned or deleted meanwhile
                matched.append((face, prediction))
        self.project.record_predictions(matched, sizes)

    def _on_image_failed(self, run: int, image_id: int, message: str, unreadable: bool) -> None:
        if self._current(run):
            self.project.record_image_problem(self.project.image(image_id), message, unreadable)

    def _on_refused(self, run: int, image_id: int, size: object, refused: list) -> None:
        if not self._current(run):
            return
        image = self.project.image(image_id)
        refusals = []
        for box, why, whole in refused:
            face = next((f for f in image.faces if f.prediction is None and f.box == box), None)
            if face is not None:
                refusals.append((face, why, whole))
        self.project.refuse_faces(image, refusals)
        if image.needs_detection:
            self._again = True  # nothing usable came with the image: the detector looks next

    def _on_progress(self, run: int, done: int, total: int) -> None:
        if self._current(run):
            self.progress.emit(done, total)

    def _on_finished(self, run: int, cancelled: bool) -> None:
        if self._current(run):
            if self._sent < len(self._queue) and not cancelled:
                self._send_chunk()
                return
            self._queue = []
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
