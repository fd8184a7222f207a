"""Fine-tune a model on a user's corrected faces: the same ``fit`` as ``uglli train``."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..evaluation.evaluate import evaluate
from ..files.records import FaceRecord
from ..files.splits import split_records
from ..inference.predict import FacePrediction, LandmarkPredictor
from ..nets.checkpoint import export_model, load_checkpoint, shippable_fields
from ..prior.folder_calibration import FIELD as CALIBRATION_FIELD
from ..prior.folder_calibration import FolderCalibration
from ..training.averaging import blend_weights
from ..training.samples import AugmentConfig
from ..training.train import Progress, TrainConfig, fit
from .folder_calibration import learn_folder_calibration

# Measured on the bundled model (tests/core/test_fine_tune_api.py, scripts/bench_finetune.py):
# enough steps for a few dozen faces, gentle enough not to harm the other faces.
DEFAULT_EPOCHS = 30
DEFAULT_LR = 2e-4
# The result is a share of the fine-tuned weights plus the rest of the starting ones
# (weight-space ensembling, Wortsman et al. 2022). Unless told, fine_tune chooses the share
# among these on the held-out faces: a folder unlike the training faces gets most of the
# fine-tuned weights, one like them keeps its parent (0: the starting weights).
BLEND_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
# Fewer held-out faces than this keep the starting model's covariance scales: a scale
# measured on 3 faces follows those faces.
MIN_CALIBRATION_FACES = 5
DEFAULT_SHARE = None      # chosen; a number in [0, 1] fixes it


@dataclass
class FineTuneResult:
    model_path: Path | None          # the fine-tuned model (last epoch); None when cancelled
    before: dict                      # figures of the starting model on the held-out faces
    after: dict                       # figures of the fine-tuned model (the one saved) on them
    train_keys: list[str]
    validation_keys: list[str]
    cancelled: bool
    share: float | None = None        # of the fine-tuned weights in the model saved
    share_figures: dict = field(default_factory=dict)    # share → held-out figures, when chosen
    calibration: dict = field(default_factory=dict)      # FolderCalibration.summary() of the scales set


def fine_tune(init_model: str | os.PathLike | None, records: list[FaceRecord], out_dir: str | os.PathLike, *,
              epochs: int = DEFAULT_EPOCHS, lr: float = DEFAULT_LR, share: float | None = DEFAULT_SHARE,
              val_fraction: float = 0.1, min_validation: int = 3,
              device: str | None = None, seed: int = 0, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None) -> FineTuneResult:
    """Train ``init_model`` (None: the bundled one) further on ``records`` (faces with
    corrected points), holding out ``val_fraction`` of them (at least ``min_validation``)
    to measure NME before and after.

    The result blends the starting weights with those after the last epoch: ``share`` of
    the latter (1 keeps the fine-tuned weights alone), or, when None, the share of
    :data:`BLEND_SHARES` with the lowest NME_io on the held-out faces. It is then
    calibrated to the folder on the held-out faces (:func:`held_out_calibration`: point
    offsets and ellipse scales), when there are :data:`MIN_CALIBRATION_FACES`: a fine-tuned
    model would keep its parent's covariance scales, too narrow on faces unlike the parent's.
    So the held-out faces choose as well as measure: the figures after are those of the
    model chosen on them (the result says which shares were tried and their figures).
    The last epoch is kept, not the one that scored best, for the same reason.
    """
    init = load_checkpoint(init_model)
    train, validation = split_records(records, val_fraction, seed=seed, minimum=min_validation)
    if not train:
        raise ValueError(f"{len(records)} faces are too few: {len(validation)} are held out for validation")
    held_out = HeldOutProgress(init, validation, share, device, Path(out_dir) / "last.pt", progress)
    before = held_out.measure_start()
    # the starting model's own loss (a model trained with peaked heatmaps keeps them) and
    # its own label convention under mirroring
    recipe = init.get("train_config") or {}
    config = TrainConfig(out_dir=str(out_dir), init=init["path"], epochs=epochs, lr=lr, lr_milestones=(0.7,),
                         warmup_epochs=0, batch_size=min(16, len(train)), device=device, seed=seed,
                         heatmap_weight=recipe.get("heatmap_weight", 0.0),
                         heatmap_sigma=recipe.get("heatmap_sigma", 1.5), log_every=1,
                         augment=AugmentConfig(mirror_shift=init.get("test_time", {}).get("mirror_shift", 0.0)))
    result = fit(config, train, validation, held_out, should_stop)
    keys = [r.key for r in train], [r.key for r in validation]
    if result.cancelled or result.last_path is None:
        return FineTuneResult(None, before, {}, *keys, True)
    tuned = load_checkpoint(result.last_path)
    shares = BLEND_SHARES if share is None else (share,)
    tried = {s: evaluate_records(LandmarkPredictor(blended(init, tuned, s), device), validation) for s in shares}
    chosen = min(shares, key=lambda s: tried[s].get("nme_io", math.inf))
    model = blended(init, tuned, chosen)
    calibration = held_out_calibration(model, validation, device) if len(validation) >= MIN_CALIBRATION_FACES else None
    if calibration is not None:
        model[CALIBRATION_FIELD] = calibration.to_field()
    # the blend chosen was measured already; a calibrated one must be measured again
    after = held_out.report(result.epochs_done, model, chosen, None if calibration is not None else tried[chosen])
    model_path = Path(out_dir) / "model.pt"
    export_model(model, model_path)
    return FineTuneResult(model_path, before, {**after, "model": str(model_path)}, *keys, False, chosen,
                          tried if share is None else {}, {} if calibration is None else calibration.summary())


def blended(init: dict, tuned: dict, share: float) -> dict:
    """The fields of a model file: ``tuned`` (a checkpoint of ``fit``'s, which runs as the
    starting model is run: test-time options, covariance scales, framer) with ``share`` of
    its weights and the rest of ``init``'s."""
    fields = shippable_fields(tuned)   # not the file read: its path and identity go
    if share < 1.0:
        fields |= {"state_dict": blend_weights(init["state_dict"], tuned["state_dict"], share),
                   "blend_share": share}
    return fields


def held_out_calibration(model: dict, validation: list[FaceRecord], device: str | None) -> FolderCalibration:
    """What ``uglli calibrate`` learns from the held-out faces for ``model``: each point's
    offset (shrunk as few faces warrant) and the covariance scales, each face measured
    with the others' offsets. Measured on ytf-frames (``scripts/bench_curation.py``): after
    fine-tuning on 90 frames, the scales alone widened the ellipses (coverage 20 → 44%)
    but left NME_io as it was; the offsets of the 10 held-out frames also took it from
    4.73 to 4.21% on other people's frames: what the weights did not learn of the folder's
    convention."""
    return learn_folder_calibration(LandmarkPredictor(model, device, folder_calibration=False), validation)


# Measuring the model to be saved costs about 1.4 s with the bundled model on one CPU thread
# (reading fit's checkpoint 0.8 s, building the predictor 0.4 s, 3 held-out faces 0.2 s),
# as much as a third of an epoch of 20 faces: at most this many epochs of a run are measured.
HELD_OUT_POINTS = 10


class HeldOutProgress:
    """``fit``'s progress, passed on with the figures on the held-out faces of the model
    that ``fine_tune`` saves, as ``{"event": "held_out", "epoch": n, "share": share, "val":
    figures}``: epoch 0 (the starting model), the last epoch (the model saved, as
    :func:`fine_tune` reports it) and, when the share is fixed, every few epochs between
    (:data:`HELD_OUT_POINTS` in all) had the run ended there; so a plot of them ends at the
    figure reported. A share still to be chosen cannot be measured before the run ends.

    ``fit`` writes an epoch's weights after its ``epoch`` event: they are measured at the
    event that follows (the next step), unless that is ``cancelled``.
    """

    def __init__(self, init: dict, validation: list[FaceRecord], share: float | None, device: str | None,
                 last_path: Path, progress: Progress | None):
        self.init, self.validation, self.share, self.device = init, validation, share, device
        self.last_path = last_path                 # where fit writes each epoch's weights
        self.progress = progress or (lambda event: None)
        self.waiting: int | None = None            # the epoch to measure once its weights are written

    def measure_start(self) -> dict:
        """The starting model's figures (epoch 0)."""
        return self.report(0, self.init, 0.0)

    def __call__(self, event: dict) -> None:
        if self.waiting is not None and event.get("event") not in ("cancelled", "done"):
            self.report(self.waiting, blended(self.init, load_checkpoint(self.last_path), self.share), self.share)
        self.waiting = None
        if event.get("event") == "epoch" and self.share is not None:
            epoch, epochs = event["epoch"], event.get("epochs", event["epoch"])
            if epoch < epochs and epoch % math.ceil(epochs / HELD_OUT_POINTS) == 0:
                self.waiting = epoch
        self.progress(event)

    def report(self, epoch: int, model: dict, share: float, figures: dict | None = None) -> dict:
        """Say the figures of ``model`` (``share`` of the fine-tuned weights): ``figures``
        when it was measured already, else measured now."""
        if figures is None:
            figures = evaluate_records(LandmarkPredictor(model, self.device), self.validation)
        self.progress({"event": "held_out", "epoch": epoch, "share": share, "val": figures})
        return figures


def evaluate_records(predictor: LandmarkPredictor, records: list[FaceRecord]) -> dict:
    """Figures of ``predictor`` on annotated records, in original-image pixels, with
    ``uncertainty``: the mean of the faces' scores (:attr:`FacePrediction.uncertainty`, the
    score the app ranks faces by and averages over a folder)."""
    if not records:
        return {}
    scoring = _Scoring(predictor)
    return {**evaluate(scoring, records), "uncertainty": float(np.mean(scoring.scores))}


class _Scoring:
    """A predictor that keeps the score of every face it predicts."""

    def __init__(self, predictor: LandmarkPredictor):
        self.predictor, self.info, self.scores = predictor, predictor.info, []

    def predict_faces(self, faces) -> list[FacePrediction]:
        predictions = self.predictor.predict_faces(faces)
        self.scores += [prediction.uncertainty for prediction in predictions]
        return predictions
