"""Learning a folder calibration (see :mod:`uglli_core.prior.folder_calibration`, which
applies it) from the faces a curator annotated, and writing the calibrated model file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..evaluation.calibration import _coverage_quantile
from ..evaluation.evaluate import evaluate
from ..files.images import ImageReadError, load_image
from ..files.records import FaceRecord
from ..files.splits import split_records
from ..inference.predict import LandmarkPredictor
from ..nets.checkpoint import export_model, load_checkpoint
from ..prior.folder_calibration import FIELD, FolderCalibration, interocular
from ..prior.model_prior import missing_prior
from ..prior.shape_prior import N_POINTS, ShapePrior, Similarity

BATCH = 32      # faces read and predicted at a time


def face_frame_residuals(prior: ShapePrior, landmarks: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, 68, 2) network points and (N, 68, 2) annotations → (N, 68, 2) annotation −
    network point in each face's frame (see the module's docstring), inter-ocular distances."""
    residuals = []
    for points, true in zip(landmarks, truth):
        inverse = np.linalg.inv(Similarity.fit(prior.mean, points).linear)          # (2, 2) image → prior units
        residuals.append((true - points) @ inverse.T / interocular(prior.mean))
    return np.stack(residuals)


def shrunk_offsets(residuals: np.ndarray) -> np.ndarray:
    """(N, 68, 2) residuals in the face frame → (68, 2) each point's mean, shrunk toward
    zero by as much as its noise says (empirical Bayes): the offsets of the 68 points are
    taken as drawn from N(0, τ²) per coordinate, a point's mean over N faces as its offset
    plus noise of variance σ_k²/N (σ_k² its scatter over the faces), so its best guess is
    the mean × τ² / (τ² + σ_k²/N), τ² estimated from the spread of the 68 means. Few
    faces, or a point that varies a lot, keep little of their mean; fewer than 2 faces
    give no offset."""
    count = len(residuals)
    if count < 2:
        return np.zeros((N_POINTS, 2))
    means = residuals.mean(axis=0)                                                   # (68, 2)
    noise = residuals.var(axis=(0, 2), ddof=1) / count                               # (68,) σ_k²/N, x and y pooled
    spread = max(float(np.mean(means ** 2) - noise.mean()), 0.0)                     # τ², per coordinate
    return means * (spread / (spread + noise + 1e-12))[:, None]


def fit_folder_calibration(prior: ShapePrior, landmarks: np.ndarray, covariances: np.ndarray,
                           truth: np.ndarray) -> FolderCalibration:
    """The calibration of (N, 68, 2) network points and (N, 68, 2, 2) covariances (as the
    model runs them, before any calibration) against (N, 68, 2) annotations, with
    ``prior`` the model's shape prior.

    Each scale is measured after the offsets, and on each face with the offsets learned
    from the others (leave one out): offsets learned from a face fit it better than they
    will fit the faces they are applied to, and from 10 faces ellipses measured that way
    came out too narrow (coverage 26-31% instead of 30-37% on unseen ytf-frames people).
    """
    if len(truth) == 0:
        raise ValueError("no annotated face to learn a folder calibration from")
    residuals = face_frame_residuals(prior, landmarks, truth)                       # (N, 68, 2)
    faces = [(None, None, points) for points in truth]      # the (image, box, truth) faces it reads
    others = [FolderCalibration(shrunk_offsets(np.delete(residuals, i, axis=0)), 1.0, 1.0, len(truth) - 1)
              for i in range(len(truth))]
    moved = [calibration.network_gaussians(prior, points, covs)
             for calibration, points, covs in zip(others, landmarks, covariances)]
    covariance_scale = _coverage_quantile(moved, faces)
    fused = [calibration.moved_prior(prior).fuse(points, covs * covariance_scale, {})
             for calibration, (points, covs) in zip(others, moved)]
    return FolderCalibration(shrunk_offsets(residuals), covariance_scale, _coverage_quantile(fused, faces),
                             len(truth))


def learn_folder_calibration(predictor, records: list[FaceRecord], problems: list[str] | None = None,
                             progress: Callable[[dict], None] | None = None) -> FolderCalibration:
    """The calibration of ``predictor`` (a :class:`~uglli_core.inference.predict.LandmarkPredictor`
    run without one) from the annotated ``records``, each predicted once (see
    :func:`network_gaussians_of`). Raises ValueError when there is nothing to learn from."""
    if predictor.folder_calibration is not None:
        raise ValueError("learn a folder calibration from the model run without one "
                         "(LandmarkPredictor.load(..., folder_calibration=False))")
    if predictor.shape_prior is None:
        raise missing_prior(predictor.info["path"], "it cannot be calibrated to a folder")
    return fit_folder_calibration(predictor.shape_prior, *network_gaussians_of(predictor, records, problems, progress))


def network_gaussians_of(predictor, records: list[FaceRecord], problems: list[str] | None = None,
                         progress: Callable[[dict], None] | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network's Gaussians of the annotated ``records`` as ``predictor`` gives them
    (:attr:`~uglli_core.inference.predict.FacePrediction.observed`), and their annotations →
    (landmarks (N, 68, 2), covariances (N, 68, 2, 2), truth (N, 68, 2)). An image that
    cannot be read is skipped and described in ``problems`` when given, else raises
    :class:`~uglli_core.files.images.ImageReadError`; ``progress`` gets ``{"event": "calibrate",
    "done", "total"}``. Raises ValueError when no face could be read."""
    annotated = [record for record in records if record.points is not None]
    landmarks, covariances, truth = [], [], []
    for start in range(0, len(annotated), BATCH):
        faces = []
        for record in annotated[start:start + BATCH]:
            try:
                faces.append((load_image(record.image_path), record.box, record.points))
            except ImageReadError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
        for prediction, (_, _, points) in zip(predictor.predict_faces((i, b) for i, b, _ in faces), faces):
            landmarks.append(prediction.observed[0])
            covariances.append(prediction.observed[1])
            truth.append(points)
        if progress:
            progress({"event": "calibrate", "done": min(start + BATCH, len(annotated)), "total": len(annotated)})
    if not truth:
        raise ValueError("no annotated face could be read to learn a folder calibration from")
    return np.stack(landmarks), np.stack(covariances), np.stack(truth)


@dataclass
class CalibrationResult:
    model_path: Path
    calibration: FolderCalibration
    before: dict                  # figures of the model as given, on the held-out faces
    after: dict                   # figures of the calibrated model on them
    learned_from: list[str]       # face keys
    held_out: list[str]


def calibrate_model(model: str | os.PathLike | None, records: list[FaceRecord], out: str | os.PathLike, *,
                    val_fraction: float = 0.1, min_validation: int = 3, seed: int = 0, device: str | None = None,
                    problems: list[str] | None = None,
                    progress: Callable[[dict], None] | None = None) -> CalibrationResult:
    """Calibrate the model file ``model`` (None: the bundled one) to the annotated
    ``records``, holding out ``val_fraction`` of them (at least ``min_validation``, whole
    photos at a time) to measure before and after, and write the calibrated model to
    ``out``: the same model file with the field ``folder_calibration`` (a calibration it
    had already is replaced, learned afresh from the network alone)."""
    learn_from, held_out = split_records([r for r in records if r.points is not None], val_fraction, seed=seed,
                                         minimum=min_validation)
    if not learn_from:
        raise ValueError(f"{len(held_out)} annotated faces are too few: all are held out to measure")
    checkpoint = load_checkpoint(model)
    before = evaluate(LandmarkPredictor(checkpoint, device), held_out, progress=progress)
    plain = LandmarkPredictor(checkpoint, device, folder_calibration=False)
    calibration = learn_folder_calibration(plain, learn_from, problems, progress)
    export_model(checkpoint, out, parent=checkpoint["path"], **{FIELD: calibration.to_field()})
    after = evaluate(LandmarkPredictor.load(out, device), held_out, progress=progress)
    return CalibrationResult(Path(out), calibration, before, after, [r.key for r in learn_from],
                             [r.key for r in held_out])
