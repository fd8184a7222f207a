"""Fine-tuning on a worker thread, the way :mod:`app.workers.prediction` predicts.

:class:`FineTuneWorker` lives in its own QThread and calls the core's
:func:`uglli_core.fine_tune` (the same ``fit`` as ``uglli train``). Its progress events
travel to the GUI thread by signal; cancelling sets a flag that ``fit`` reads before
every step, so a cancelled run returns within one step. The worker never touches the
project: it gets a job with copied records and sends back the result.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from uglli_core import FaceRecord, fine_tune

from .threads import start_worker_thread


@dataclass
class FineTuneJob:
    init_model: Path | None          # the model to start from; None: the bundled one
    records: list[FaceRecord]
    run_dir: Path                    # an empty folder for this run's checkpoints
    epochs: int = 10
    lr: float = 1e-4
    share: float | None = None       # of the fine-tuned weights in the new model (the rest: the starting
                                     # model's); None: chosen on the held-out faces
    val_fraction: float = 0.1
    min_validation: int = 3
    device: str | None = None        # "cpu", "cuda" or None (CUDA when present)
    seed: int = 0
    parent: int = 0                  # the model version it starts from
    faces: str = "both"              # which faces were chosen (for the record)
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def config(self) -> dict:
        """How the model was trained, for the versions index."""
        return {"epochs": self.epochs, "lr": self.lr, "share": self.share, "val_fraction": self.val_fraction,
                "min_validation": self.min_validation, "device": self.device or "auto", "seed": self.seed,
                "faces": self.faces, "face_count": len(self.records),
                "init_model": None if self.init_model is None else str(self.init_model)}


class FineTuneWorker(QObject):
    event = Signal(object, object)       # job, progress event (dict) from the core
    finished = Signal(object, object)    # job, FineTuneResult
    failed = Signal(object, str)         # job, why

    @Slot(object)
    def run(self, job: FineTuneJob) -> None:
        try:
            result = fine_tune(job.init_model, job.records, job.run_dir, epochs=job.epochs, lr=job.lr,
                               share=job.share, val_fraction=job.val_fraction, min_validation=job.min_validation,
                               device=job.device, seed=job.seed,
                               progress=lambda event: self.event.emit(job, event), should_stop=job.stop.is_set)
        except Exception as exc:  # keep the app alive and say why training stopped
            self.failed.emit(job, f"Fine-tuning stopped: {type(exc).__name__}: {exc}")
        else:
            self.finished.emit(job, result)


class FineTuneController(QObject):
    """The GUI thread's side: one run at a time, cancel, and a clean shutdown."""
    event = Signal(dict)
    running_changed = Signal(bool)
    finished = Signal(object, object)    # job, FineTuneResult (cancelled or not)
    failed = Signal(object, str)         # job, why
    _start = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.job: FineTuneJob | None = None   # the run going on
        self._worker = FineTuneWorker()
        self._thread = start_worker_thread("fine-tune", self._worker)
        self._start.connect(self._worker.run)
        self._worker.event.connect(self._on_event)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        QCoreApplication.instance().aboutToQuit.connect(self.shutdown)

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, job: FineTuneJob) -> bool:
        """False when a run is already going."""
        if self.running:
            return False
        self.job = job
        self.running_changed.emit(True)
        self._start.emit(job)
        return True

    def cancel(self) -> None:
        """The run stops before its next step; its result arrives as cancelled."""
        if self.job is not None:
            self.job.stop.set()

    def shutdown(self) -> None:
        """Cancel and stop the thread (waits for the step in hand); safe to call more than once."""
        self.cancel()
        self._thread.quit()
        self._thread.wait()

    def _on_event(self, job: FineTuneJob, event: dict) -> None:
        if job is self.job:
            self.event.emit(event)

    def _on_finished(self, job: FineTuneJob, result) -> None:
        self._end(job)
        self.finished.emit(job, result)

    def _on_failed(self, job: FineTuneJob, message: str) -> None:
        self._end(job)
        self.failed.emit(job, message)

    def _end(self, job: FineTuneJob) -> None:
        if job is self.job:
            self.job = None
            self.running_changed.emit(False)
