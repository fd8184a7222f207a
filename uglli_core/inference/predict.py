"""Inference: load a model once, predict landmarks and covariances for many faces."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from ..files.records import tight_box
from ..maths.geometry import (Box, average_gaussians, crop_transform, transform_covariances, transform_points,
                              unmirror, warp)
from ..maths.metrics import box_size, point_uncertainty
from ..nets.checkpoint import FRAMER_FIELD, CheckpointError, build_model, describe, load_checkpoint
from ..nets.device import compute_dtype, pick_device
from ..nets.model import UGLLINet, covariance, fold_batch_norms
from ..prior.folder_calibration import calibration_in
from ..prior.model_prior import missing_prior, prior_for_model, prior_in
from ..prior.shape_prior import ShapePrior


@dataclass
class FacePrediction:
    """One face, everything in original-image pixels.

    ``landmarks`` and ``covariances`` are the answer: the network's, fused with the
    model's shape prior when the model file says so. The network's own Gaussians are
    then kept beside them, because a correction must be fused with those, not with an
    answer that has seen the prior already (see :attr:`observed`).
    """
    box: Box
    landmarks: np.ndarray            # (68, 2)
    covariances: np.ndarray          # (68, 2, 2)
    network_landmarks: np.ndarray | None = None      # (68, 2); None: the same as landmarks
    network_covariances: np.ndarray | None = None    # (68, 2, 2)
    # the identity of the model that made it (LandmarkPredictor.identity), where it is kept
    # with the prediction (the app's store); None: not known
    model: str | None = None
    # how far the face is turned in its image, degrees clockwise (one of maths.geometry.TURNS):
    # the network saw it turned back upright
    turn: int = 0

    @property
    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """The network's own (landmarks (68, 2), covariances (68, 2, 2)): what
        :meth:`ShapePrior.fuse` takes with a reviewer's corrections."""
        if self.network_landmarks is None or self.network_covariances is None:
            return self.landmarks, self.covariances
        return self.network_landmarks, self.network_covariances

    @property
    def box_size(self) -> float:
        """√(w·h) of the box the face was given, in pixels."""
        x0, y0, x1, y1 = self.box
        return float(np.sqrt(max(x1 - x0, 1e-6) * max(y1 - y0, 1e-6)))

    @property
    def point_uncertainty(self) -> np.ndarray:
        """(68,) |Σ|^(1/4) in percent of the face's size (see :func:`point_scores`)."""
        return point_scores(self.landmarks, self.covariances)

    @property
    def uncertainty(self) -> float:
        """The face's score, percent of the face's size: the network's own spread plus how
        far the shape prior moved its points (see :func:`face_scores`)."""
        return float(face_scores(self.landmarks, *self.observed))


def point_scores(landmarks: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """(…, 68, 2) points and (…, 68, 2, 2) their Σ → (…, 68) |Σ|^(1/4) in percent of
    √(w·h) of the tight box of those points: the face's own size, as predicted.

    Not the size of the box the face was given: a loose hand-drawn box would make the
    same face look surer. The points are the answer's, whose Σ is scored (fused with the
    prior or not, the same points the ellipses are drawn at; a stored prediction always
    has them). NME_box divides by the same box of the true points, so the two are on
    one scale.
    """
    return 100 * point_uncertainty(covariances) / _face_sizes(landmarks)[..., None]


def face_scores(landmarks: np.ndarray, network_landmarks: np.ndarray, network_covariances: np.ndarray) -> np.ndarray:
    """(…, 68, 2) the answer's points, and the network's own Gaussians before the shape prior
    ((…, 68, 2) and (…, 68, 2, 2): :attr:`FacePrediction.observed`) → (…) each face's score:
    the mean |Σ|^(1/4) of the network's points plus the mean distance from each of them to
    the answer's, both in percent of the face's size as :func:`point_scores` measures it.

    The score is to rank the faces the model gets wrong, and the detector's false boxes,
    first, while the ellipses drawn (:func:`point_scores`) stay the answer's, calibrated
    point by point. Both terms are the network's own evidence. Its spread, because the
    answer's covariances, fused with the prior, are never wider than the prior's, so a face
    the network cannot read, or a false box, looks little less sure than a hard real face.
    The distance the prior moved its points (0 without a prior), because a network sure of
    a shape that no face has is pulled far without its ellipses growing: the fused
    covariances depend on the face's size and turn, not on its shape.

    Measured by ``scripts/bench_face_score.py`` (bundled model): on 300-W validation faces
    made hard (blurred, turned, occluded, small, JPEG) its top 30 % hold as many of the
    failures as the fused score's (97.7 % one way at a time; two at once 84.8 against
    87.9 %, one face of 33), its r with NME_io is 0.82 and 0.90 instead of 0.75 and 0.80;
    on ytf-frames 100 % of the failures, r 0.66 instead of 0.61; AFW false boxes outrank
    real faces with probability 0.969 (0.971). The plain sum of the two lengths: weighting
    either 2 times more moved none of these by more than a face or two.
    """
    sizes = _face_sizes(landmarks)                                                     # (…,)
    spread = point_uncertainty(network_covariances).mean(axis=-1)
    moved = np.linalg.norm(np.asarray(network_landmarks, dtype=np.float64) - landmarks, axis=-1).mean(axis=-1)
    return 100 * (spread + moved) / sizes


def _face_sizes(landmarks: np.ndarray) -> np.ndarray:
    """(…, 68, 2) → (…) √(w·h) of the tight box of each face's points (never 0)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    sizes = box_size(landmarks.reshape(-1, *landmarks.shape[-2:])).reshape(landmarks.shape[:-2])
    return np.maximum(sizes, 1e-6)


# what a model file without a shape prior cannot do when asked to fuse with one
NO_FUSION = "its points cannot be fused with one: run it with fuse_prior off (uglli predict --no-fuse-prior)"

# A model file's ``test_time`` field: how it was measured and is meant to be run.
TEST_TIME = {"flip": False, "recrop": False, "frame_first": False, "fuse_prior": False, "turns": None,
             "covariance_scale": 1.0, "x_shift": 0.0, "y_shift": 0.0, "mirror_shift": 0.0}
# With ``turns``, a face whose network points are less sure than this (mean |Σ|^¼ in percent
# of their own box, as :func:`point_scores`, with the file's covariance_scale) may not be
# upright, and is tried turned. The bundled model (scripts/bench_rotated.py): upright faces at
# most 2.8, hard ones and faces tilted 30° included; faces turned by a right angle at least 3.35.
# ``turns`` None: on where that scale was measured (the file's test_time has a covariance_scale),
# for this limit means nothing to a model whose Σ is not calibrated.
NOT_UPRIGHT = 3.0
# the order turns are tried in: sideways first, the way a photo is most often held wrong
OTHER_TURNS = (90, 270, 180)


class LandmarkPredictor:
    """A loaded model. ``predict`` takes RGB images and face boxes in image pixels."""

    def __init__(self, checkpoint: dict, device: str | None = None, flip: bool | None = None,
                 recrop: bool | None = None, frame_first: bool | None = None, fuse_prior: bool | None = None,
                 turns: bool | None = None, folder_calibration: bool = True, precision: str | None = None):
        """How the model is run comes from its file's ``test_time`` field (see
        :data:`TEST_TIME`); the keywords override it:

        - ``frame_first``: the file's framing network runs on the given box first, and the
          model on the tight box of its points: the same frame whatever box was given;
        - ``recrop``: the model runs a second time, framed by the tight box of its points;
        - ``flip``: each face also runs mirrored, and the two are averaged;
        - ``fuse_prior``: the points are fused with the model's shape prior (as a
          correction would be, with nothing corrected yet); a model file without a prior
          raises :class:`~uglli_core.prior.shape_prior.ShapePriorError` saying so;
        - ``turns``: a face whose turn is not given and whose network is unsure enough
          (:data:`NOT_UPRIGHT`) is run again turned by the other right angles, and the surest
          turn is kept; only those faces pay for the extra passes (when neither this nor
          the file says: on for a file whose Σ is calibrated, see :data:`NOT_UPRIGHT`);
        - ``folder_calibration``: run with the folder calibration the file carries, if any
          (``uglli calibrate``; see :mod:`uglli_core.tuning.folder_calibration`);
        - ``precision``: "float32", "bfloat16" or "auto" (bfloat16 where the CPU runs it
          natively; :func:`~uglli_core.nets.device.compute_dtype`); None: ``$UGLLI_PRECISION``, else auto.
        """
        self.device = pick_device(device)
        self.test_time = {**TEST_TIME, **checkpoint.get("test_time", {})}
        self.flip = bool(self.test_time["flip"]) if flip is None else flip
        self.recrop = bool(self.test_time["recrop"]) if recrop is None else recrop
        self.frame_first = bool(self.test_time["frame_first"]) if frame_first is None else frame_first
        self.fuse_prior = bool(self.test_time["fuse_prior"]) if fuse_prior is None else fuse_prior
        if turns is None:
            turns = self.test_time["turns"]
        self.turns = bool("covariance_scale" in checkpoint.get("test_time", {}) if turns is None else turns)
        # Σ × this puts 39.3% of true points inside their Mahalanobis-1 ellipse on the
        # training faces, when run as the file says (uglli_core.evaluation.calibration)
        self.covariance_scale = float(self.test_time["covariance_scale"])
        # from where the network puts a point to where the annotations put it, in x and y,
        # as a share of the crop's side (see uglli_core.evaluation.calibration)
        self.x_shift = float(self.test_time["x_shift"])
        self.y_shift = float(self.test_time["y_shift"])
        # a model trained with AugmentConfig.mirror_shift puts points that far right of the
        # pixel they mark; unmirroring its mirrored points keeps that
        self.mirror_shift = float(self.test_time["mirror_shift"])
        self.info = describe(checkpoint)
        self.model = fold_batch_norms(build_model(checkpoint)).to(self.device)
        self._checkpoint_name = checkpoint.get("path")
        # fusing needs the model file's prior: without one, a clear error rather than an
        # answer that is not what was asked for (a script would not see a warning)
        self.shape_prior: ShapePrior | None = (prior_for_model(checkpoint, NO_FUSION) if self.fuse_prior
                                               else prior_in(checkpoint))
        # a folder's own offsets and ellipses (uglli calibrate): applied to the network's
        # Gaussians in the frame of the file's prior, which moves by the same offsets
        self.folder_calibration = calibration_in(checkpoint) if folder_calibration else None
        self._model_prior = self.shape_prior
        if self.folder_calibration is not None:
            self._model_prior = prior_for_model(checkpoint, "its folder calibration cannot be applied")
            self.shape_prior = self.folder_calibration.moved_prior(self._model_prior)
        self.input_size = self.model.config.input_size
        self.framer = _framer(checkpoint).to(self.device) if self.frame_first else None
        dtype = compute_dtype(self.device, precision)    # bfloat16 where the CPU has it; None: float32
        for network in filter(None, (self.model, self.framer)):
            network.compute_dtype = dtype
            if self.device.type == "cpu":  # measured: about 1.7× faster convolutions on CPU
                network.to(memory_format=torch.channels_last)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str | None = None, **test_time) -> "LandmarkPredictor":
        """The model file at ``path``, or the bundled model when None; ``test_time``:
        the keywords of the constructor (flip, recrop, frame_first, fuse_prior, turns, folder_calibration)."""
        return cls(load_checkpoint(path), device, **test_time)

    @property
    def compute_dtype(self) -> torch.dtype | None:
        """The dtype the networks' convolutions run in (None: float32; see ``precision``)."""
        return self.model.compute_dtype

    @property
    def identity(self) -> str | None:
        """The model file's identity (:func:`~uglli_core.nets.checkpoint.model_identity`), the
        same for a copy of the file; None for a model not read from a file."""
        return self.info["identity"]

    def refine(self, landmarks: np.ndarray, covariances: np.ndarray,
               fixed: dict[int, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Fuse a prediction with the reviewer's corrections: the network's landmarks
        (68, 2) and covariances (68, 2, 2) in image pixels (a prediction's
        :attr:`~FacePrediction.observed`), ``fixed`` {point index: (x, y)} the points the
        reviewer placed → (landmarks, covariances) with the fixed points exactly where
        given and every other point moved as far as its covariance and the model's shape
        prior let it (see :mod:`uglli_core.prior.shape_prior`).

        Raises :class:`~uglli_core.prior.shape_prior.ShapePriorError` when the model file has no
        shape prior.
        """
        if self.shape_prior is None:
            raise missing_prior(self._checkpoint_name)
        return self.shape_prior.fuse(landmarks, covariances, fixed)

    def predict(self, image: np.ndarray, boxes: Iterable[Box], batch_size: int = 32,
                turn: int | None = None) -> list[FacePrediction]:
        return self.predict_faces(((image, box, turn) for box in boxes), batch_size)

    def predict_faces(self, faces: Iterable[tuple], batch_size: int = 32) -> list[FacePrediction]:
        """(image (H, W, 3) uint8 RGB, box) pairs, or (image, box, turn) where the face's
        turn is known (degrees clockwise, one of :data:`~uglli_core.maths.geometry.TURNS`;
        None: not known, as in a pair) → predictions, in order."""
        results, batch = [], []
        for image, box, *turn in faces:
            batch.append((image, tuple(float(v) for v in box), turn[0] if turn else None))
            if len(batch) == batch_size:
                results += self._predict_batch(batch)
                batch = []
        if batch:
            results += self._predict_batch(batch)
        return results

    @torch.inference_mode()
    def _predict_batch(self, faces: list[tuple[np.ndarray, Box, int | None]]) -> list[FacePrediction]:
        images, boxes = [image for image, _, _ in faces], [box for _, box, _ in faces]
        turns = [turn or 0 for *_, turn in faces]
        landmarks, covariances = self._network_gaussians(images, boxes, turns)   # (B, 68, 2), (B, 68, 2, 2)
        if self.turns:
            self._try_turns(images, boxes, [turn is None for *_, turn in faces], turns, landmarks, covariances)
        if self.folder_calibration is not None:
            calibrated = [self.folder_calibration.network_gaussians(self._model_prior, points, covs)
                          for points, covs in zip(landmarks, covariances)]
            landmarks, covariances = np.stack([p for p, _ in calibrated]), np.stack([c for _, c in calibrated])
        if not self.fuse_prior:
            return [FacePrediction(box, points, covs, turn=turn)
                    for box, points, covs, turn in zip(boxes, landmarks, covariances, turns)]
        fused = [self.shape_prior.fuse(points, covs, {}) for points, covs in zip(landmarks, covariances)]
        return [FacePrediction(box, points, covs, network_points, network_covs, turn=turn)
                for box, (points, covs), network_points, network_covs, turn
                in zip(boxes, fused, landmarks, covariances, turns)]

    def _try_turns(self, images: list[np.ndarray], boxes: list[Box], free: list[bool], turns: list[int],
                   landmarks: np.ndarray, covariances: np.ndarray) -> None:
        """The faces whose turn is ``free`` (not given) and whose network is too unsure to be
        upright (:data:`NOT_UPRIGHT`) run turned by the other right angles, until one is sure
        enough; each keeps its surest turn, if turned it is as sure as an upright face (a
        blurred upright face is unsure at every turn, and turned it is only a little less so
        by chance). Changes ``turns``, ``landmarks`` and ``covariances`` in place."""
        scores = point_scores(landmarks, covariances).mean(axis=-1)                  # (B,)
        for turn in OTHER_TURNS:
            doubtful = [i for i in range(len(boxes)) if free[i] and scores[i] > NOT_UPRIGHT]
            if not doubtful:
                return
            points, covs = self._network_gaussians([images[i] for i in doubtful], [boxes[i] for i in doubtful],
                                                   [turn] * len(doubtful))
            for i, score, face_points, face_covs in zip(doubtful, point_scores(points, covs).mean(axis=-1),
                                                        points, covs):
                if score < min(scores[i], NOT_UPRIGHT):   # turned, it looks like an upright face
                    scores[i], turns[i], landmarks[i], covariances[i] = score, turn, face_points, face_covs

    def _network_gaussians(self, images: list[np.ndarray], boxes: list[Box],
                           turns: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The model's means (B, 68, 2) and scaled covariances (B, 68, 2, 2) in image pixels,
        each face turned back by its turn (framed first and run again as the file says)."""
        frames = boxes
        if self.framer is not None:  # the same frame whatever box was given
            frames = [tight_box(points) for points in self._predict_boxes(images, boxes, turns, self.framer)[0]]
        landmarks, covariances = self._predict_boxes(images, frames, turns, self.model)
        if self.recrop:  # the face again, framed by its first points
            landmarks, covariances = self._predict_boxes(images, [tight_box(points) for points in landmarks],
                                                         turns, self.model)
        return landmarks, covariances * self.covariance_scale

    def _predict_boxes(self, images: list[np.ndarray], boxes: list[Box], turns: list[int],
                       network: UGLLINet) -> tuple[np.ndarray, np.ndarray]:
        """Means (B, 68, 2) and covariances (B, 68, 2, 2) in image pixels, one face per
        box, turned back by its turn, from ``network``: the model as its file says (flip,
        shift), or the framer as it is."""
        size = network.config.input_size
        matrices = np.stack([crop_transform(box, size, turn=turn)                       # (B, 3, 3) image → crop
                             for box, turn in zip(boxes, turns)])
        crops = np.stack([warp(image, m, size) for image, m in zip(images, matrices)])    # (B, S, S, 3)
        tensor = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        means, covs = self._run(network, tensor)                        # (B, 68, 2), (B, 68, 2, 2) crop px
        if network is self.model:
            if self.flip:
                mirrored_means, mirrored_covs = unmirror(*self._run(network, tensor.flip(-1)), size)
                mirrored_means[..., 0] += 2 * self.mirror_shift * size
                means, covs = average_gaussians(means, covs, mirrored_means, mirrored_covs)
            means += np.array([self.x_shift, self.y_shift]) * size
        back = np.linalg.inv(matrices)                                  # (B, 3, 3) crop → image
        return (np.stack([transform_points(b, m) for b, m in zip(back, means)]),
                np.stack([transform_covariances(b, c) for b, c in zip(back, covs)]))

    def _run(self, network: UGLLINet, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(B, 3, S, S) → means (B, 68, 2) and covariances (B, 68, 2, 2), crop pixels."""
        if self.device.type == "cpu":
            images = images.contiguous(memory_format=torch.channels_last)
        [last] = network(images, last_only=True)
        return last["means"].double().cpu().numpy(), covariance(last["chol"].double()).cpu().numpy()


def _framer(checkpoint: dict) -> UGLLINet:
    """The framing network a model file carries; a clear error when it has none."""
    if not isinstance(checkpoint.get(FRAMER_FIELD), dict):
        raise CheckpointError(f"{Path(checkpoint.get('path') or 'the model file').name} has no framing network")
    return fold_batch_norms(build_model({"path": checkpoint.get("path"), **checkpoint[FRAMER_FIELD]}))
