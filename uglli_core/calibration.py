"""Calibration of a trained model against its annotations: where the points sit, and
one scale on every covariance, so that the ellipses are as wide as the errors.

Where: the 300-W crops' annotations put a point about 2 px (of 384) right of, and
below, the pixel it marks. A network learns the y part, but not the x part when it
is trained with left-right mirroring: a mirrored face's labels are off by as much the
other way. So its points sat left of the annotations on every face, by 1.6% of the
inter-ocular distance, 0.9% of the crop. The mean x error on training crops, as a
share of the network's crop, is added back in the crop by the predictor (``x_shift``).

How wide:
A model trained with the GLL on heavily augmented faces is less sure of itself than
it needs to be on the faces users open. With ``Σ' = s Σ`` a true point lies inside its
Mahalanobis-1 ellipse when its squared Mahalanobis distance d² under Σ is at most s,
so the s that puts the calibrated share P(χ²₂ ≤ 1) = 39.3% of points inside is that
quantile of d². It is measured on training faces (never on the validation split),
run as the model file says, and stored in the file's ``test_time`` field. A model
that fuses its points with its shape prior at prediction time gets a second scale, on
the fused covariances, measured the same way and stored with the prior
(:attr:`uglli_core.shape_prior.ShapePrior.posterior_scale`).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .geometry import Box, crop_transform
from .metrics import CALIBRATED_COVERAGE, mahalanobis_squared
from .predict import LandmarkPredictor


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


def _predictions(predictor: LandmarkPredictor, faces: list) -> list:
    return predictor.predict_faces((image, box) for image, box, _ in faces)


def _coverage_quantile(gaussians: list[tuple[np.ndarray, np.ndarray]], faces: list) -> float:
    """The quantile of the true points' squared Mahalanobis distances under the
    (means (68, 2), covariances (68, 2, 2)) of each face that is the calibrated share."""
    truth = np.stack([points for _, _, points in faces])                                   # (N, 68, 2)
    means = np.stack([m for m, _ in gaussians])                                             # (N, 68, 2)
    covariances = np.stack([c for _, c in gaussians])                                       # (N, 68, 2, 2)
    squared = mahalanobis_squared(truth, means, covariances)                                # (N, 68)
    return float(np.quantile(squared, CALIBRATED_COVERAGE / 100))


def calibrated_x_shift(predictor: LandmarkPredictor, faces: Iterable[tuple[np.ndarray, Box, np.ndarray]]) -> float:
    """The ``x_shift`` for ``predictor`` from (image, box, true points (68, 2)) faces: its
    mean x error in its crops, as a share of the crop's side, taken off what it adds."""
    faces = list(faces)
    predictions = _predictions(predictor, faces)
    size = predictor.input_size
    errors = [(p.observed[0][:, 0] - points[:, 0]) * crop_transform(box, size)[0, 0]   # (68,) crop px
              for p, (_, box, points) in zip(predictions, faces)]
    return float(predictor.x_shift - np.mean(errors) / size)
