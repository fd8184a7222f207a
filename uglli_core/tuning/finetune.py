"""Fine-tune a model on a user's corrected faces: the same ``fit`` as ``uglli train``."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..evaluation.evaluate import evaluate
from ..files.records import FaceRecord, split_records
from ..inference.predict import FacePrediction, LandmarkPredictor
from ..nets.checkpoint import export_model, load_checkpoint, shippable_fields
from ..training.averaging import blend_weights
from ..training.samples import AugmentConfig
from ..training.train import Progress, TrainConfig, fit

# Measured on the bundled model (tests/core/test_fine_tune_api.py, scripts/bench_finetune.py):
# enough steps for a few dozen faces, gentle enough not to harm the other faces.
DEFAULT_EPOCHS = 30
DEFAULT_LR = 2e-4
# The result is this share of the fine-tuned weights plus the rest of the starting ones
# (weight-space ensembling, Wortsman et al. 2022). Tuned on 8 of the hardest faces, the
# fine-tuned weights alone took the other faces' NME_io from 3.97% to 4.39%; the even
# blend keeps them at 4.08% and still takes the corrected faces from 6.19% to 4.90%.
DEFAULT_SHARE = 0.5


@dataclass
class FineTuneResult:
    model_path: Path | None          # the fine-tuned model (last epoch); None when cancelled
    before: dict                      # figures of the starting model on the held-out faces
    after: dict                       # figures of the fine-tuned model (the one saved) on them
    train_keys: list[str]
    validation_keys: list[str]
    cancelled: bool


def fine_tune(init_model: str | os.PathLike | None, records: list[FaceRecord], out_dir: str | os.PathLike, *,
              epochs: int = DEFAULT_EPOCHS, lr: float = DEFAULT_LR, share: float = DEFAULT_SHARE,
              val_fraction: float = 0.1, min_validation: int = 3,
              device: str | None = None, seed: int = 0, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None) -> FineTuneResult:
    """Train ``init_model`` (None: the bundled one) further on ``records`` (faces with
    corrected points), holding out ``val_fraction`` of them (at least ``min_validation``)
    to measure NME before and after.

    The result blends the starting weights with those after the last epoch (``share``
    of the latter; 1 keeps the fine-tuned weights alone). It is not the epoch that
    scored best on the held-out faces: those few faces report before/after honestly
    only if they were not also used to pick the model.
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
    if result.cancelled or result.last_path is None:
        return FineTuneResult(None, before, {}, [r.key for r in train], [r.key for r in validation], True)
    if held_out.measured != result.epochs_done:  # the last epoch is measured at fit's "done", unless it
        held_out.measure(result.last_path, result.epochs_done)   # was an earlier run's (a resumed run)
    model_path = Path(out_dir) / "model.pt"
    export_model(held_out.model, model_path)
    return FineTuneResult(model_path, before, {**held_out.figures, "model": str(model_path)},
                          [r.key for r in train], [r.key for r in validation], False)


# Measuring the model to be saved costs about 1.4 s with the bundled model on one CPU thread
# (reading fit's checkpoint 0.8 s, building the predictor 0.4 s, 3 held-out faces 0.2 s),
# as much as a third of an epoch of 20 faces: at most this many epochs of a run are measured.
HELD_OUT_POINTS = 10


class HeldOutProgress:
    """``fit``'s progress, passed on with the figures of the model that ``fine_tune`` saves
    had the run ended there: the starting weights blended with the epoch's, measured on the
    held-out faces as the final figures are (they are the last epoch's). Each goes out as
    ``{"event": "held_out", "epoch": n, "share": share, "val": figures}``: epoch 0 (the
    starting model), every few epochs (:data:`HELD_OUT_POINTS` in all) and the last, so a
    plot of them ends at the figure reported.

    ``fit`` writes an epoch's weights after its ``epoch`` event: they are measured at the
    event that follows (the next step, or ``done``), unless that is ``cancelled``.
    """

    def __init__(self, init: dict, validation: list[FaceRecord], share: float, device: str | None,
                 last_path: Path, progress: Progress | None):
        self.init, self.validation, self.share, self.device = init, validation, share, device
        self.last_path = last_path                 # where fit writes each epoch's weights
        self.progress = progress or (lambda event: None)
        self.waiting: int | None = None            # the epoch to measure once its weights are written
        self.measured = 0                          # the epoch of the model measured last
        self.model: dict = init                    # that model (a checkpoint), and its figures
        self.figures: dict = {}

    def measure_start(self) -> dict:
        """The starting model's figures (epoch 0)."""
        return self._report(0, self.init)

    def measure(self, weights: Path, epoch: int) -> dict:
        """Blend ``weights`` (a checkpoint of ``fit``'s, which runs as the starting model is
        run: test-time options, covariance scales, framer) with the starting ones, and
        measure the result."""
        tuned = load_checkpoint(weights)
        fields = shippable_fields(tuned)   # not the file read: its path and identity go
        if self.share < 1.0:
            fields |= {"state_dict": blend_weights(self.init["state_dict"], tuned["state_dict"], self.share),
                       "blend_share": self.share}
        return self._report(epoch, fields)

    def __call__(self, event: dict) -> None:
        if self.waiting is not None and event.get("event") != "cancelled":
            self.measure(self.last_path, self.waiting)
        self.waiting = None
        if event.get("event") == "epoch":
            epoch, epochs = event["epoch"], event.get("epochs", event["epoch"])
            if epoch >= epochs or epoch % math.ceil(epochs / HELD_OUT_POINTS) == 0:
                self.waiting = epoch
        self.progress(event)

    def _report(self, epoch: int, model: dict) -> dict:
        self.measured, self.model = epoch, model
        self.figures = evaluate_records(LandmarkPredictor(model, self.device), self.validation)
        self.progress({"event": "held_out", "epoch": epoch, "share": self.share, "val": self.figures})
        return self.figures


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
