"""Calibration to a folder, without training: where a folder's annotations put each
point, and how wide its ellipses must be, learned from the faces a curator reviewed.

A folder annotated by another team has conventions of its own (a 300-W model's jaw,
brow and nose points can sit about 5% of the inter-ocular distance from theirs), and
its faces may be harder than the training faces, so the ellipses come out too narrow.
A few numbers hold most of that:

- ``offsets`` (68, 2): each point's mean offset from the network's point to the
  annotation, in the face's own frame: the least-squares similarity that places the
  shape prior's mean shape on the network's points (x along the eyes, y down the
  face), in inter-ocular distances; all 68 points place it, not the two eye corners,
  one of which, misplaced, would turn and scale every offset. Seen by few faces, an
  offset is shrunk toward zero (:func:`shrunk_offsets`), so that 10 faces do not teach
  the noise of 10 faces.
- ``covariance_scale``: Σ × this puts 39.3% of the annotated points inside their
  Mahalanobis-1 ellipse, measured AFTER the offsets are applied (the rule of
  :mod:`uglli_core.calibration`); ``posterior_scale`` the same for the covariances
  fused with the shape prior.

Where it is applied, and why there: to the network's own Gaussians
(``FacePrediction.observed``), AND to the shape prior, whose mean shape moves by the
same offsets (in the prior's own normalised frame, the frame the offsets are measured
in). The fused answer is the prior's placed mean plus a gain times the network's points
minus it, so moving both by δ moves the answer by δ; and a reviewer's corrections, fused
through that prior (``LandmarkPredictor.refine``), stay in the folder's convention.
Offsets applied to the network's points alone would be pulled back toward the 300-W
mean shape by the fusion, and offsets applied to the fused answer alone would not reach
``refine`` (``scripts/bench_calibrate.py`` measures the first against this).

In a model file it is the field ``folder_calibration`` (:meth:`FolderCalibration.to_field`),
which :class:`~uglli_core.predict.LandmarkPredictor` applies, so a calibrated model file
runs calibrated in every command and in the app. Fine-tuning does not inherit it: the
fine-tuned network learns the folder's points itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .checkpoint import CheckpointError, export_model, load_checkpoint
from .data import FaceRecord, split_records
from .images import ImageReadError, load_image
from .metrics import OUTER_EYE_CORNERS
from .model_prior import missing_prior
from .shape_prior import N_POINTS, ShapePrior, Similarity

FIELD = "folder_calibration"
BATCH = 32      # faces read and predicted at a time
FACE_PARTS = {"all": slice(0, 68), "jaw": slice(0, 17), "brows": slice(17, 27), "nose": slice(27, 36),
              "eyes": slice(36, 48), "mouth": slice(48, 68)}


@dataclass(frozen=True)
class FolderCalibration:
    offsets: np.ndarray          # (68, 2) annotation − network point, inter-ocular distances, face frame
    covariance_scale: float      # × the network's Σ (after the model file's own scale)
    posterior_scale: float       # × the covariances fused with the prior (all the prior's scales)
    faces: int                   # annotated faces it was learned from

    # -- applied ------------------------------------------------------------------------------
    def network_gaussians(self, prior: ShapePrior, landmarks: np.ndarray,
                          covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network's landmarks (68, 2) and covariances (68, 2, 2) of one face, in image
        pixels → the same, calibrated: each point moved by its offset through the
        similarity that places ``prior``'s mean shape on the face, each Σ scaled."""
        placement = Similarity.fit(prior.mean, landmarks)
        moved = landmarks + self._normalised(prior) @ placement.linear.T            # (68, 2)
        return moved, covariances * self.covariance_scale

    def moved_prior(self, prior: ShapePrior) -> ShapePrior:
        """``prior`` with its mean shape moved by the offsets and its fused covariances
        scaled: the prior the calibrated Gaussians are fused with."""
        corrected = np.array(prior.corrected_scales, dtype=np.float64)               # (K, 2)
        corrected[:, 1] *= self.posterior_scale
        return replace(prior, mean=prior.mean + self._normalised(prior), corrected_scales=corrected,
                       posterior_scale=prior.posterior_scale * self.posterior_scale)

    def _normalised(self, prior: ShapePrior) -> np.ndarray:
        """(68, 2) the offsets in the units of ``prior``'s mean shape."""
        return self.offsets * interocular(prior.mean)

    # -- in a model file: a plain dict of a tensor and numbers ------------------------------
    def to_field(self) -> dict:
        return {"offsets": torch.from_numpy(np.array(self.offsets, dtype=np.float64)),
                "covariance_scale": float(self.covariance_scale), "posterior_scale": float(self.posterior_scale),
                "faces": int(self.faces)}

    def summary(self) -> dict:
        """What was learned, for people: the scales, and the offsets' mean length (percent
        of the inter-ocular distance) by part of the face and at the five largest points."""
        lengths = 100 * np.linalg.norm(self.offsets, axis=1)                         # (68,)
        return {"faces": self.faces, "covariance_scale": round(self.covariance_scale, 4),
                "posterior_scale": round(self.posterior_scale, 4),
                "mean_offset_percent_io": {part: round(float(lengths[points].mean()), 2)
                                           for part, points in FACE_PARTS.items()},
                "largest_offsets_percent_io": {int(k): round(float(lengths[k]), 2) for k in np.argsort(-lengths)[:5]}}


def calibration_in(checkpoint: dict) -> FolderCalibration | None:
    """The calibration a loaded checkpoint carries; None when it has none."""
    values = checkpoint.get(FIELD)
    if values is None:
        return None
    name = Path(checkpoint.get("path") or "the model file").name
    try:
        offsets = np.asarray(values["offsets"], dtype=np.float64)
        scales = float(values["covariance_scale"]), float(values["posterior_scale"])
        faces = int(values["faces"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: its folder calibration is incomplete ({exc})") from None
    if offsets.shape != (N_POINTS, 2) or not np.isfinite(offsets).all() or not all(
            np.isfinite(s) and s > 0 for s in scales):
        raise CheckpointError(f"{name}: its folder calibration holds offsets of shape {offsets.shape} or "
                              f"scales that are not finite and positive")
    return FolderCalibration(offsets, *scales, faces)


def interocular(shape: np.ndarray) -> float:
    """The distance between the outer eye corners of a (68, 2) shape."""
    return float(np.linalg.norm(shape[OUTER_EYE_CORNERS[1]] - shape[OUTER_EYE_CORNERS[0]]))


# -- learned ----------------------------------------------------------------------------------
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
    from .calibration import _coverage_quantile   # (it imports the predictor, which imports this module)

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
    """The calibration of ``predictor`` (a :class:`~uglli_core.predict.LandmarkPredictor`
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
    (:attr:`~uglli_core.predict.FacePrediction.observed`), and their annotations →
    (landmarks (N, 68, 2), covariances (N, 68, 2, 2), truth (N, 68, 2)). An image that
    cannot be read is skipped and described in ``problems`` when given, else raises
    :class:`~uglli_core.images.ImageReadError`; ``progress`` gets ``{"event": "calibrate",
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
    from .evaluate import evaluate                # (it imports the predictor, which imports this module)
    from .predict import LandmarkPredictor

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
