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
run as the model file says, and stored in the file's ``test_time`` field.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .geometry import Box, crop_transform
from .metrics import CALIBRATED_COVERAGE, mahalanobis_squared
from .predict import LandmarkPredictor


def calibrated_scale(predictor: LandmarkPredictor,
                     faces: Iterable[tuple[np.ndarray, Box, np.ndarray]]) -> float:
    """The covariance scale for ``predictor`` from (image, box, true points (68, 2)) faces."""
    faces = list(faces)
    predictions = predictor.predict_faces((image, box) for image, box, _ in faces)
    truth = np.stack([points for _, _, points in faces])                                   # (N, 68, 2)
    means = np.stack([p.landmarks for p in predictions])                                    # (N, 68, 2)
    covariances = np.stack([p.covariances for p in predictions])                            # (N, 68, 2, 2)
    squared = mahalanobis_squared(truth, means, covariances)                                # (N, 68)
    # the predictions already carry the predictor's scale: rescale from there
    return float(predictor.covariance_scale * np.quantile(squared, CALIBRATED_COVERAGE / 100))


def calibrated_x_shift(predictor: LandmarkPredictor, faces: Iterable[tuple[np.ndarray, Box, np.ndarray]]) -> float:
    """The ``x_shift`` for ``predictor`` from (image, box, true points (68, 2)) faces: its
    mean x error in its crops, as a share of the crop's side, taken off what it adds."""
    faces = list(faces)
    predictions = predictor.predict_faces((image, box) for image, box, _ in faces)
    size = predictor.input_size
    errors = [(p.landmarks[:, 0] - points[:, 0]) * crop_transform(box, size)[0, 0]   # (68,) crop px
              for p, (_, box, points) in zip(predictions, faces)]
    return float(predictor.x_shift - np.mean(errors) / size)
