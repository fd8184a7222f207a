"""The Model menu's logic: which model a folder predicts with, fine-tuning runs, versions.

The main window owns one :class:`ModelControl`. It keeps the starting model (version 0:
``--model`` or File → Choose Model…, else the bundled one), opens the folder's
:class:`~app.document.model_versions.ModelVersions`, starts fine-tuning runs on the
:class:`~app.workers.finetune_worker.FineTuneController` and turns their results into versions.
Switching versions goes through the window's own :class:`~app.workers.prediction.PredictionController`:
there is no second way of predicting. Each prediction keeps the identity of the model that
made it: the unreviewed faces another model predicted (an earlier version, a bundled model
since upgraded) are reported, with an offer to predict them again (:meth:`ModelControl.predict_again`),
until none is left. It knows no widget: what the user should read
goes out as signals (:attr:`ModelControl.notice`, :attr:`ModelControl.status`), and the
window shows the dialogs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from uglli_core import CheckpointError
from uglli_core.nets.checkpoint import model_identity
from uglli_core.tuning.finetune import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SHARE

from ..document.corrections import (MIN_FACES, corrected_faces, face_records, held_out_count, mean_uncertainty,
                                    other_model_faces, uncertainty_moved)
from ..document.faces import Face
from ..document.model_versions import ModelVersions, ModelVersionsError, state_dir
from .finetune_worker import FineTuneController, FineTuneJob
from .prediction import PredictionController

OTHER_MODEL = "other_model"   # the topic of the notice about faces another model predicted


@dataclass
class FineTuneSettings:
    faces: str = "both"            # see app.document.corrections.CHOICES
    epochs: int = DEFAULT_EPOCHS
    lr: float = DEFAULT_LR
    share: float | None = DEFAULT_SHARE   # of the fine-tuned weights in the new model; None: chosen
    val_fraction: float = 0.1
    min_validation: int = 3
    device: str | None = "cpu"     # "cpu" or "cuda"
    seed: int = 0


class ModelControl(QObject):
    version_added = Signal(object)      # ModelVersion, of the open folder
    run_ended = Signal(str)             # a run stopped without a new version: why (cancelled, failed)
    active_changed = Signal(int)
    event = Signal(dict)                # the running fine-tune's progress events
    uncertainty_moved = Signal(str)     # how the folder's uncertainty moved after switching models
    notice = Signal(str, str, str)      # for the user to read: message, level ("info", "error"), topic
    notices_over = Signal(str)          # a topic's notices no longer hold
    status = Signal(str)                # a passing message
    folder_changed = Signal(object)     # the project opened (None: closed), once its versions are known

    def __init__(self, prediction: PredictionController, parent: QObject | None = None):
        super().__init__(parent)
        self.prediction = prediction
        self.project = None
        self.base_model: Path | None = prediction.model_path   # version 0; None: bundled
        self.versions: ModelVersions | None = None
        self.trainer = FineTuneController(self)
        self.trainer.event.connect(self.event)
        self.trainer.finished.connect(self._on_finished)
        self.trainer.failed.connect(self._on_failed)
        self._run_versions: ModelVersions | None = None   # where the running job's result goes
        self._switch: tuple | None = None   # (model name, {face: uncertainty before}, folder mean before)
        prediction.finished.connect(self._on_run_ended)
        prediction.failed.connect(lambda _: setattr(self, "_switch", None))

    # -- the open folder ---------------------------------------------------------------
    def folder_opened(self, project) -> None:
        """Predict with the folder's active version (before the first prediction starts), and
        say whether another model predicted some of its unreviewed faces."""
        self.project = project
        try:
            self.versions = ModelVersions(state_dir(project))
        except (ModelVersionsError, OSError) as exc:
            self.versions = None
            self.notice.emit(f"Fine-tuned models of this folder cannot be used: {exc}", "error", "folder")
        else:
            if self.versions.notice:
                self.notice.emit(self.versions.notice, "error", "folder")
            self.prediction.model_path = self.model_of(self.versions.active)
        self.check_predictions()
        self.folder_changed.emit(project)

    def folder_closed(self) -> None:
        self.trainer.cancel()
        self.project = self.versions = None
        self.prediction.model_path = self.base_model
        self.folder_changed.emit(None)

    def shutdown(self) -> None:
        """Stop a run (within a step) and remove its folder: its result can no longer arrive."""
        job = self.trainer.job
        self.trainer.shutdown()
        if job is not None:
            ModelVersions.remove_run(job.run_dir)

    def model_of(self, version: int) -> Path | None:
        """The file that ``version`` predicts with (None: the bundled model); a version whose
        file has gone falls back to the starting model, with a notice."""
        if version == 0 or self.versions is None:
            return self.base_model
        path = self.versions.path_of(version)
        if not path.is_file():
            self.notice.emit(f"The model file of version {version} ({path}) is missing: "
                             "predicting with the starting model instead.", "error", "model")
            return self.base_model
        return path

    def base_label(self) -> str:
        return "bundled model" if self.base_model is None else f"starting model ({Path(self.base_model).name})"

    def active_label(self) -> str:
        """The model that predicts now, in words."""
        if self.versions is None or self.versions.active == 0 or self.prediction.model_path == self.base_model:
            return self.base_label()
        return f"version {self.versions.active}"

    # -- predictions of other models ---------------------------------------------------------
    def other_model_faces(self) -> list[Face]:
        """The faces nobody has reviewed or edited whose prediction another model than the
        active one made; none while the active model's file cannot be read (nothing could
        predict them again)."""
        if self.project is None:
            return []
        try:
            identity = model_identity(self.prediction.model_path)
        except CheckpointError:
            return []
        return other_model_faces(self.project, identity)

    def check_predictions(self) -> None:
        """Say how many unreviewed faces another model predicted, when there are any: the
        list would rank their uncertainty with the active model's. The notice stays until
        none is left (see :meth:`predict_again`)."""
        count = len(self.other_model_faces())
        self.notices_over.emit(OTHER_MODEL)
        if count:
            faces = f"{count} unreviewed face{'s were' if count != 1 else ' was'}"
            text = (f"{faces} predicted by another model than the one in use ({self.active_label()}): their "
                    "uncertainty is not on its scale, yet the list ranks them together. Predict them again with "
                    "it? Faces you reviewed or edited keep their points.")
            self.notice.emit(text, "info", OTHER_MODEL)

    def predict_again(self) -> int:
        """Predict again, with the active model, the unreviewed faces another model predicted;
        returns how many."""
        return self._predict_with(self.prediction.model_path, repredict=True)

    # -- versions ------------------------------------------------------------------------
    def use_base_model(self, path: Path) -> None:
        """File → Choose Model…: ``path`` becomes version 0 and the active model."""
        self.base_model = path
        if self.versions is not None and self.versions.active != 0:
            self._set_active(0)
        self._predict_with(path, repredict=False)

    def make_active(self, version: int, repredict: bool = True) -> int | None:
        """Predict with ``version`` from now on. With ``repredict``, the faces nobody has
        reviewed or edited that another model predicted are predicted again (and re-ranked);
        the others keep their points. Returns how many faces are predicted again; None when
        it could not be switched."""
        if self.project is None or self.versions is None or not self._set_active(version):
            return None
        return self._predict_with(self.model_of(version), repredict)

    def _predict_with(self, path: Path | None, repredict: bool) -> int:
        """From now on predict with the model at ``path`` (None: the bundled one); what the
        folder lacks is predicted. With ``repredict``, the predictions of
        :meth:`other_model_faces` are forgotten first, so that they are predicted again, and
        the run's end says how their uncertainty moved. Returns how many are predicted again."""
        self.prediction.stop()   # a run of the old model must not fill the cleared faces
        self.prediction.model_path = path
        self._switch = None
        faces = self.other_model_faces() if repredict else []
        if faces:
            before = {face: face.uncertainty for face in faces}
            folder_before = mean_uncertainty(self.project.faces())
            if self.project.forget_predictions(faces):
                self._switch = (self.active_label(), before, folder_before)
            else:
                faces = []
        self.prediction.start()
        self.check_predictions()
        if self.project is not None:
            self.status.emit(f"Predicting with {self.active_label()}"
                             + (f": {len(faces)} unreviewed faces are predicted again" if faces else ""))
        return len(faces)

    def _on_run_ended(self, cancelled: bool) -> None:
        """A run ended: whether other models' predictions are left; after a switch, how the
        folder's uncertainty moved."""
        self.check_predictions()
        if self._switch is None or self.project is None:
            return
        name, before, folder_before = self._switch
        self._switch = None
        text = uncertainty_moved(name, before, folder_before, self.project)
        if cancelled:
            text += " The prediction was cancelled: Review → Predict finishes it."
        self.notices_over.emit("uncertainty")
        self.notice.emit(text, "info", "uncertainty")
        self.uncertainty_moved.emit(text)

    def _set_active(self, version: int) -> bool:
        try:
            self.versions.set_active(version)
        except (OSError, KeyError) as exc:
            self.notice.emit(f"Could not switch the model: {exc}", "error", "model")
            return False
        self.active_changed.emit(version)
        return True

    # -- fine-tuning -----------------------------------------------------------------------
    def training_faces(self, which: str) -> list:
        return [] if self.project is None else corrected_faces(self.project, which)

    def refusal(self, settings: FineTuneSettings, faces: list[Face]) -> str | None:
        """Why a run with ``settings`` on ``faces`` cannot start; None when it can."""
        if self.project is None or self.versions is None:
            return "Open a folder first."
        if self.trainer.running:
            return "A fine-tuning run is already going."
        count = len(faces)
        if count < MIN_FACES:
            return (f"{count} face(s) chosen: fine-tuning needs at least {MIN_FACES}. Mark faces reviewed "
                    "(Review → Accept Face) or correct their points first.")
        held = held_out_count(self.project, faces, settings.val_fraction, settings.min_validation, settings.seed)
        if count - held < 2:
            return f"Holding out {held} of {count} faces leaves too few to train on: hold out fewer."
        return None

    def start_fine_tune(self, settings: FineTuneSettings) -> str | None:
        """Start a run; returns why it cannot start, or None once it has started."""
        faces = self.training_faces(settings.faces)
        problem = self.refusal(settings, faces)
        if problem:
            return problem
        try:
            run_dir = self.versions.new_run_dir()
        except OSError as exc:
            return f"Cannot write the new model into {self.versions.folder}: {exc}"
        job = FineTuneJob(self.prediction.model_path, face_records(self.project, faces), run_dir,
                          epochs=settings.epochs, lr=settings.lr, share=settings.share,
                          val_fraction=settings.val_fraction,
                          min_validation=settings.min_validation, device=settings.device, seed=settings.seed,
                          parent=self.versions.active, faces=settings.faces)
        self._run_versions = self.versions
        self.trainer.start(job)
        return None

    def cancel_fine_tune(self) -> None:
        self.trainer.cancel()

    def _on_finished(self, job: FineTuneJob, result) -> None:
        versions, self._run_versions = self._run_versions, None
        try:
            if result.cancelled or result.model_path is None:
                self.run_ended.emit("Cancelled: the model in use is unchanged.")
                return
            try:
                version = versions.add(result.model_path, parent=job.parent, config=made_by(job, result),
                                       trained_on=result.train_keys, validation=result.validation_keys,
                                       before=kept_figures(result.before), after=kept_figures(result.after))
            except OSError as exc:
                self._report(f"The fine-tuned model could not be saved: {exc}")
                return
        finally:
            ModelVersions.remove_run(job.run_dir)
        self.notices_over.emit("fine_tune")
        if versions is self.versions:
            self.status.emit(f"Fine-tuning finished: version {version.version} saved "
                             "(Model → Versions… to make it active)")
            self.version_added.emit(version)

    def _on_failed(self, job: FineTuneJob, message: str) -> None:
        self._run_versions = None
        ModelVersions.remove_run(job.run_dir)
        self._report(message)

    def _report(self, message: str) -> None:
        self.notice.emit(message, "error", "fine_tune")
        self.run_ended.emit(message)


def kept_figures(values: dict) -> dict:
    """The figures worth keeping (not the path of the temporary run's model)."""
    return {key: value for key, value in values.items() if key != "model"}


def made_by(job: FineTuneJob, result) -> dict:
    """How a version was made, for its record: the job's settings, the share of fine-tuned
    weights kept (and the figures of each share tried, when it was chosen) and the scales
    its ellipses were given."""
    return {**job.config(), "share": result.share, "share_figures": {f"{share:g}": figures for share, figures
                                                                      in result.share_figures.items()},
            "calibration": result.calibration}
