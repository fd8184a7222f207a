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
  :mod:`uglli_core.evaluation.calibration`); ``posterior_scale`` the same for the covariances
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

It is learned by :mod:`uglli_core.tuning.folder_calibration`. In a model file it is the field ``folder_calibration`` (:meth:`FolderCalibration.to_field`),
which :class:`~uglli_core.inference.predict.LandmarkPredictor` applies, so a calibrated model file
runs calibrated in every command and in the app. Fine-tuning does not inherit it: the
fine-tuned network learns the folder's points itself.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..maths.metrics import FACE_PARTS, OUTER_EYE_CORNERS
from ..nets.checkpoint import CheckpointError
from .shape_prior import N_POINTS, ShapePrior, Similarity

FIELD = "folder_calibration"


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
