"""Calibration of a trained model against its annotations: where the points sit, and
one scale on every covariance, so that the ellipses are as wide as the errors.

Where: a network's points can sit off the annotations by a constant share of its crop.
Up to v4 the 300-W labels were read one pixel off their convention (see
``uglli_core.files.pts``), with a size-dependent offset of the files' own, about 2 px of 384
right and below: a network learns such an offset in y, but not in x when it is trained
with left-right mirroring (a mirrored face's labels are off by as much the other way).
Whatever is left, the mean error on training crops in x and y, as a share of the
network's crop, is taken off in the crop by the predictor (``x_shift``, ``y_shift``).

How wide:
A model trained with the GLL on heavily augmented faces is less sure of itself than
it needs to be on the faces users open. With ``Σ' = s Σ`` a true point lies inside its
Mahalanobis-1 ellipse when its squared Mahalanobis distance d² under Σ is at most s,
so the s that puts the calibrated share P(χ²₂ ≤ 1) = 39.3% of points inside is that
quantile of d². It is measured on training faces (never on the validation split),
run as the model file says, and stored in the file's ``test_time`` field. A model
that fuses its points with its shape prior at prediction time gets a second scale, on
the fused covariances, measured the same way and stored with the prior
(:attr:`uglli_core.prior.shape_prior.ShapePrior.posterior_scale`).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..inference.predict import LandmarkPredictor
from ..maths.geometry import Box, crop_transform
from ..maths.metrics import CALIBRATED_COVERAGE, mahalanobis_squared


def calibrated_scale(predictor: LandmarkPredictor,
                     faces: Iterable[tuple[np.ndarray, Box, np.ndarray]]) -> float:
    """The covariance scale of the network's Gaussians (before any shape prior) for
    ``predictor``, from (image, box, true points (68, 2)) faces."""
    faces = list(faces)
    observed = [p.observed for p in _predictions(predictor, faces)]
    # the predictions already carry the predictor's scale: rescale from there
    return float(predictor.covariance_scale * _coverage_quantile(observed, faces))


def calibrated_posterior_scale(predictor: LandmarkPredictor,
                               faces: Iterable[tuple[np.ndarray, Box, np.ndarray]]) -> float:
    """The scale of the covariances fused with the shape prior (``predictor`` fuses
    them), from (image, box, true points (68, 2)) faces."""
    faces = list(faces)
    fused = [(p.landmarks, p.covariances) for p in _predictions(predictor, faces)]
    return float(predictor.shape_prior.posterior_scale * _coverage_quantile(fused, faces))


# Corrections after which the fused covariances get a scale of their own (the reviewer
# places the worst points first; past the last count, its scale holds).
CORRECTION_COUNTS = (1, 3, 5)


def corrected_gaussians(predictor: LandmarkPredictor, faces: list, placed: int) -> tuple[list, np.ndarray]:
    """A reviewer's first ``placed`` corrections, simulated: on each of (image, box, true
    points (68, 2)) ``faces``, the points farthest from the truth placed on it and the
    network's Gaussians fused with them → ([(means (68, 2), covariances (68, 2, 2))], free (N, 68))."""
    gaussians, free = [], []
    for prediction, (_, _, truth) in zip(_predictions(predictor, faces), faces):
        worst = np.argsort(-np.linalg.norm(prediction.landmarks - truth, axis=1))[:placed]   # (placed,)
        gaussians.append(predictor.refine(*prediction.observed, {int(i): tuple(truth[i]) for i in worst}))
        free.append(~np.isin(np.arange(len(truth)), worst))
    return gaussians, np.stack(free)


def coverage_after_corrections(predictor: LandmarkPredictor, faces: Iterable[tuple[np.ndarray, Box, np.ndarray]],
                               counts: Iterable[int] = (0, *CORRECTION_COUNTS)) -> dict[int, float]:
    """Mahalanobis-1 coverage (%) of the points not placed, after each count of simulated
    corrections (:func:`corrected_gaussians`); calibrated is 39.3%."""
    faces = list(faces)
    coverage = {}
    for placed in counts:
        gaussians, free = corrected_gaussians(predictor, faces, placed)
        squared = _squared_distances(gaussians, faces)                                     # (N, 68)
        coverage[placed] = float(100 * np.mean(squared[free] <= 1.0))
    return coverage


def calibrated_corrected_scales(predictor: LandmarkPredictor, faces: Iterable[tuple[np.ndarray, Box, np.ndarray]],
                                counts: Iterable[int] = CORRECTION_COUNTS) -> np.ndarray:
    """(K, 2) rows (points placed, scale) for :attr:`ShapePrior.corrected_scales`: after
    each count of simulated corrections, the scale that makes the points not placed
    calibrated (``predictor`` fuses with its prior as it is)."""
    faces = list(faces)
    rows = []
    for placed in counts:
        gaussians, free = corrected_gaussians(predictor, faces, placed)
        squared = _squared_distances(gaussians, faces)                                     # (N, 68)
        quantile = float(np.quantile(squared[free], CALIBRATED_COVERAGE / 100))
        rows.append((placed, predictor.shape_prior.scale_after(placed) * quantile))
    return np.array(rows, dtype=np.float64)


def _predictions(predictor: LandmarkPredictor, faces: list) -> list:
    return predictor.predict_faces((image, box) for image, box, _ in faces)


def _coverage_quantile(gaussians: list[tuple[np.ndarray, np.ndarray]], faces: list) -> float:
    """The quantile of the true points' squared Mahalanobis distances under the
    (means (68, 2), covariances (68, 2, 2)) of each face that is the calibrated share."""
    return float(np.quantile(_squared_distances(gaussians, faces), CALIBRATED_COVERAGE / 100))


def _squared_distances(gaussians: list[tuple[np.ndarray, np.ndarray]], faces: list) -> np.ndarray:
    """(N, 68) squared Mahalanobis distances of the true points under each face's
    (means (68, 2), covariances (68, 2, 2))."""
    truth = np.stack([points for _, _, points in faces])                                   # (N, 68, 2)
    means = np.stack([m for m, _ in gaussians])                                             # (N, 68, 2)
    covariances = np.stack([c for _, c in gaussians])                                       # (N, 68, 2, 2)
    return mahalanobis_squared(truth, means, covariances)


def calibrated_shift(predictor: LandmarkPredictor,
                     faces: Iterable[tuple[np.ndarray, Box, np.ndarray]]) -> tuple[float, float]:
    """``x_shift`` and ``y_shift`` for ``predictor`` from (image, box, true points (68, 2))
    faces: its mean error in its crops, as a share of the crop's side, taken off what it adds."""
    faces = list(faces)
    predictions = _predictions(predictor, faces)
    size = predictor.input_size
    errors = np.stack([(p.observed[0] - points) * crop_transform(box, size)[0, 0]        # (68, 2) crop px
                       for p, (_, box, points) in zip(predictions, faces)])               # (N, 68, 2)
    mean = errors.reshape(-1, 2).mean(axis=0) / size                                     # (2,)
    return float(predictor.x_shift - mean[0]), float(predictor.y_shift - mean[1])
