"""Model → Calibrate to This Folder as I Review: the model learns the folder's conventions
from the faces the curator has reviewed or corrected, without training.

When those faces first reach each step of :data:`~app.document.calibration_setting.STEPS`
(10, 30, 100, 300, 1000), :class:`FolderCalibrator` runs the core's
:func:`~uglli_core.calibrate_model` on a worker thread: each point's mean offset in the
face's frame and the ellipses' scales, learned from the faces not held out, with the
NME_io and coverage of the held-out ones before and after. The calibrated model becomes
a new version of the folder (config kind ``calibration``) and the active one, which
predicts again the faces nobody reviewed or edited (:meth:`ModelControl.make_active`);
a notice gives the figures, with a button that turns calibrating off. A model that is
itself a calibration is never calibrated again: its parent is, so calibrations never
stack. A calibration waits while the folder is predicted or a model fine-tuned, and
starts when they end. Turning calibrating off makes the calibration's parent active again.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

from uglli_core import FaceRecord, calibrate_model

from ..document.calibration_setting import CALIBRATION_SETTING, STEPS, CalibrationSetting, step_reached
from ..document.corrections import corrected_faces, face_records
from ..document.model_versions import ModelVersions
from ..document.project import SaveError
from .model_control import ModelControl, kept_figures
from .threads import start_worker_thread

TOPIC = "calibration"      # the topic of the notice of a calibration made active (it offers Turn Off)
FAILED = "calibration_failed"   # the topic of the notices of a calibration that could not be made
KIND = "calibration"       # a calibration version's config["kind"]


class CalibrationCancelled(Exception):
    """Raised from the core's progress callback to stop a run that is no longer wanted."""


@dataclass
class CalibrationJob:
    model: Path | None               # the model to calibrate; None: the bundled one
    records: list[FaceRecord]        # copied: later edits never reach the worker
    run_dir: Path                    # where the calibrated model is written before it becomes a version
    parent: int                      # the version it calibrates
    step: int                        # the step of STEPS it was started at
    versions: ModelVersions          # the folder's versions when it started
    stop: threading.Event = field(default_factory=threading.Event, repr=False)


class CalibrationWorker(QObject):
    progress = Signal(object, object)    # job, progress event (dict) from the core
    finished = Signal(object, object)    # job, CalibrationResult
    failed = Signal(object, str)         # job, why ("" when cancelled)

    @Slot(object)
    def run(self, job: CalibrationJob) -> None:
        def report(event: dict) -> None:
            if job.stop.is_set():
                raise CalibrationCancelled
            self.progress.emit(job, event)

        try:
            result = calibrate_model(job.model, job.records, job.run_dir / "model.pt", progress=report)
        except CalibrationCancelled:
            self.failed.emit(job, "")
        except Exception as exc:  # keep the app alive and say why nothing changed
            self.failed.emit(job, str(exc) or type(exc).__name__)
        else:
            self.finished.emit(job, result)


class FolderCalibrator(QObject):
    """The GUI thread's side: when to calibrate, the folder's setting, and the result."""
    notice = Signal(str, str, str)      # message, level ("info", "error"), topic
    notices_over = Signal(str)          # a topic's notices no longer hold
    status = Signal(str)                # a passing message (the run's progress)
    switched = Signal(bool)             # the open folder's setting: calibrate as the curator reviews
    _start = Signal(object)

    def __init__(self, models: ModelControl, parent: QObject | None = None):
        super().__init__(parent)
        self.models = models
        self.project = None
        self.setting = CalibrationSetting()
        self.job: CalibrationJob | None = None      # the run going on
        self._asked = False                         # Calibrate Now waits for a run to end
        self._worker = CalibrationWorker()
        self._thread = start_worker_thread("calibration", self._worker)
        self._start.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        models.folder_changed.connect(self._on_folder_changed)
        models.prediction.finished.connect(lambda _: self.check())     # a step reached meanwhile waited
        models.trainer.running_changed.connect(lambda running: running or self.check())
        QCoreApplication.instance().aboutToQuit.connect(self.shutdown)

    @property
    def running(self) -> bool:
        return self.job is not None

    def cancel(self) -> None:
        """The run stops at its next batch; its result is dropped."""
        if self.job is not None:
            self.job.stop.set()

    def shutdown(self) -> None:
        """Cancel the run, stop the thread (waits for the batch in hand) and remove the run's
        folder, whose end can no longer arrive; safe to call more than once."""
        self.cancel()
        self._thread.quit()
        self._thread.wait()
        if self.job is not None:
            ModelVersions.remove_run(self.job.run_dir)

    def reviewed_count(self) -> int:
        return 0 if self.project is None else len(corrected_faces(self.project))

    # -- the open folder ---------------------------------------------------------------------
    def _on_folder_changed(self, project) -> None:
        self.cancel()
        self._notices_over()
        self._asked = False
        self.project = project
        self.setting = CalibrationSetting.from_json(project.store.setting(CALIBRATION_SETTING)) if project \
            else CalibrationSetting()
        self.switched.emit(self.setting.on)
        if project is not None:
            project.events.face_changed.connect(lambda face, opened=project: self._on_face_changed(opened, face))
            QTimer.singleShot(0, self.check)   # once the folder's prediction has started: it waits for that

    def _on_face_changed(self, project, face) -> None:
        if project is self.project and (face.reviewed or face.edited is not None):
            self.check()

    # -- when ----------------------------------------------------------------------------
    def check(self) -> None:
        """Calibrate when the reviewed faces have reached a step not reached before (and
        calibrating is on) or Calibrate Now asked for it, unless a run of any kind is going:
        it is checked again when that ends."""
        count = self.reviewed_count()
        step = max(self.setting.last_step, step_reached(count)) if self._asked else self.setting.due(count)
        if step is not None and not self._busy():
            self._asked = False
            self._calibrate(step)

    def calibrate_now(self) -> None:
        """Model → Calibrate Now: calibrate to the faces reviewed so far (once the folder's
        prediction or a fine-tuning run in progress has ended)."""
        self._asked = True
        self.check()
        if self._asked:
            self.status.emit("The model is calibrated to this folder once the run in progress ends.")

    def set_on(self, on: bool) -> None:
        """Model → Calibrate to This Folder as I Review, or the notice's Turn Off. Turned off,
        the model active before calibrating becomes active again; turned on, the model is
        calibrated at once when there are enough reviewed faces."""
        if self.project is None:
            return
        self._keep(replace(self.setting, on=on))
        self.switched.emit(on)
        self._notices_over()
        if on:
            if self.reviewed_count() >= STEPS[0]:
                self.calibrate_now()
            return
        self.cancel()
        before = self._uncalibrated()
        if before is not None and self.models.make_active(before) is not None:
            self.status.emit(f"Calibrating to this folder is off: {self.models.active_label()} predicts again "
                             "the unreviewed faces.")
        else:
            self.status.emit("Calibrating to this folder is off.")

    def _notices_over(self) -> None:
        for topic in (TOPIC, FAILED):
            self.notices_over.emit(topic)

    def _busy(self) -> bool:
        return self.running or self.models.prediction.running or self.models.trainer.running

    # -- a run -----------------------------------------------------------------------------
    def _calibrate(self, step: int) -> None:
        """Start a run on the faces reviewed or corrected now; a clear notice when it cannot start."""
        versions = self.models.versions
        faces = corrected_faces(self.project) if self.project is not None else []
        if versions is None or not faces:
            self.notice.emit("Nothing to calibrate to: " + ("open a folder whose fine-tuned models can be used."
                             if versions is None else "review (A) or correct some faces first."), "error", FAILED)
            return
        parent = self._uncalibrated()
        parent = versions.active if parent is None else parent
        try:
            run_dir = versions.new_run_dir()
        except OSError as exc:
            self.notice.emit(f"Could not calibrate to this folder: cannot write into {versions.folder}: {exc}",
                             "error", FAILED)
            return
        self.job = CalibrationJob(self.models.model_of(parent), face_records(self.project, faces), run_dir,
                                  parent, step, versions)
        self.status.emit(f"Calibrating the model to this folder from {len(faces)} reviewed faces…")
        self._start.emit(self.job)

    def _uncalibrated(self) -> int | None:
        """The version the active calibration version calibrated; None when the active one is no calibration."""
        versions = self.models.versions
        active = versions.get(versions.active) if versions is not None else None
        return active.parent if active is not None and active.config.get("kind") == KIND else None

    def _on_progress(self, job: CalibrationJob, event: dict) -> None:
        if job is self.job and not job.stop.is_set():
            what = "learning from faces" if event.get("event") == "calibrate" else "measuring held-out faces"
            self.status.emit(f"Calibrating to this folder: {what} {event['done']} / {event['total']}…")

    def _on_failed(self, job: CalibrationJob, message: str) -> None:
        ModelVersions.remove_run(job.run_dir)
        if not message:               # cancelled: the folder closed, or calibrating was turned off
            self._end(job)
            self.check()
        elif self._end(job):
            self._keep(replace(self.setting, last_step=max(self.setting.last_step, job.step)))   # not again and again
            self.notice.emit(f"Could not calibrate the model to this folder; the model in use is unchanged. {message}",
                             "error", FAILED)

    def _on_finished(self, job: CalibrationJob, result) -> None:
        try:
            if not self._end(job):
                return
            if self.models.versions.active not in (job.parent, self._calibration_of(job.parent)):
                self.status.emit("The model in use changed while calibrating: the calibration was dropped.")
                return
            try:
                version = job.versions.add(result.model_path, parent=job.parent,
                                           config=calibration_config(job, result),
                                           trained_on=result.learned_from, validation=result.held_out,
                                           before=kept_figures(result.before), after=kept_figures(result.after))
            except OSError as exc:
                self.notice.emit(f"The calibrated model could not be saved; the model in use is unchanged: {exc}",
                                 "error", FAILED)
                return
        finally:
            ModelVersions.remove_run(job.run_dir)
        self._keep(replace(self.setting, last_step=max(self.setting.last_step, job.step)))
        self._notices_over()
        if self.models.make_active(version.version) is not None:
            self.notice.emit(calibrated_text(version), "info", TOPIC)

    def _calibration_of(self, parent: int) -> int | None:
        """The active version, when it is a calibration of ``parent``."""
        return self.models.versions.active if self._uncalibrated() == parent else None

    def _end(self, job: CalibrationJob) -> bool:
        """The run is over; whether its result is still wanted (the same folder, not cancelled)."""
        if job is not self.job:
            return False
        self.job = None
        return not job.stop.is_set() and job.versions is self.models.versions

    def _keep(self, setting: CalibrationSetting) -> None:
        """Keep the folder's setting in its store (not the curator's work: a failure to save it
        is not worth a notice; the folder then opens with calibrating on)."""
        self.setting = setting
        try:
            self.project.store.set_setting(CALIBRATION_SETTING, setting.to_json())
        except SaveError:
            pass


def calibration_config(job: CalibrationJob, result) -> dict:
    """How a calibration version was made, for its record."""
    return {"kind": KIND, "faces": len(job.records), "held_out": len(result.held_out), "step": job.step,
            "init_model": None if job.model is None else str(job.model), "summary": result.calibration.summary()}


def calibrated_text(version) -> str:
    """The notice of a calibration version made active: its held-out figures before and after."""
    before, after = version.before, version.after
    return (f"Calibrated to this folder from {version.config['faces']} reviewed faces "
            f"({version.config['held_out']} held out): NME_io {before['nme_io']:.2f} → {after['nme_io']:.2f} %, "
            f"coverage {before['coverage']:.0f} → {after['coverage']:.0f} %. Unreviewed faces predicted again.")
