"""Training samples: face records cut into cached patches, augmented into network crops."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..files.images import load_image
from ..files.records import FaceRecord, tight_box
from ..maths.geometry import CROP_CONTEXT, MIRROR_68, crop_transform, similarity_about, transform_points, warp
from ..maths.metrics import OUTER_EYE_CORNERS

# A cached patch spans this many crops' widths, so rotation, zoom-out and shifts of
# the augmentation stay inside real pixels.
PATCH_MARGIN = 1.6
# How far a point the reviewer marked occluded may be from where they placed it: a
# standard deviation per axis, as a share of the inter-ocular distance. Where a point's
# place is a matter of judgement (jaw, brows, nose) two annotation teams differ by about
# 5% of it on average (ytf-frames against 300-W, shared/datasets/README.md); a hidden
# point is guessed at least that loosely. It is more than the model's own error on points
# it sees (NME_io about 3%), so such a label pulls the network less than an exact one.
OCCLUDED_SD = 0.05


@dataclass
class AugmentConfig:
    scale: float = 0.2          # zoom factor drawn from 1 ± scale
    rotation: float = 25.0      # degrees, uniform ±
    shift: float = 0.06         # fraction of the crop side, uniform ± in x and y
    flip: float = 0.5           # probability of a left-right mirror
    mirror_shift: float = 0.0   # how far right of the pixel it marks an annotation sits, as a
                                # share of the crop side; a mirrored face's labels keep it
    colour: float = 0.3         # brightness, contrast, saturation jitter amplitude
    grey: float = 0.1           # probability of a grey-scale image
    occlusion: float = 0.3      # probability of one random occluding rectangle
    box_jitter: float = 0.05    # per edge, for boxes made from the landmarks (as the paper)
    tight_box: float = 0.0      # probability of the landmarks' tight box instead of the given one
    detector_box: float = 0.0   # of the other faces, the share given our detector's box, where
                                # it found them (uglli_core.training.training_boxes)
    low_resolution: float = 0.0  # probability of showing the face at fewer pixels (down, then up)
    min_face: float = 30.0      # the smallest face size (box side in pixels) that shows
    jpeg: float = 0.0           # probability of JPEG compression (quality 30–90)
    blur: float = 0.0           # probability of a Gaussian blur (σ 0.5–1.5 px)


@dataclass
class FacePatch:
    pixels: np.ndarray          # (P, P, 3) uint8
    box: tuple                  # face box in patch pixels
    points: np.ndarray          # (68, 2) patch pixels
    box_from_landmarks: bool
    detected_box: tuple | None = None   # our detector's box in patch pixels; None: none found
    occluded: np.ndarray | None = None  # (68,) bool, see FaceRecord.occluded


def cut_patch(record: FaceRecord, input_size: int, image: np.ndarray | None = None) -> FacePatch:
    """The region around the face at the crop's resolution, with its box and points."""
    if record.points is None:
        raise ValueError(f"{record.key}: training needs ground-truth points")
    image = load_image(record.image_path) if image is None else image
    size = int(round(input_size * PATCH_MARGIN))
    matrix = crop_transform(record.box, size, CROP_CONTEXT * PATCH_MARGIN)

    def in_patch(box) -> tuple:
        return tuple(transform_points(matrix, np.reshape(box, (2, 2))).ravel())

    detected = None if record.detected_box is None else in_patch(record.detected_box)
    return FacePatch(warp(image, matrix, size), in_patch(record.box), transform_points(matrix, record.points),
                     record.box_from_landmarks, detected, record.occluded)


class FaceCrops(Dataset):
    """Network crops of cached patches; augmented when ``augment`` is given.

    Items: ``image`` (3, S, S) float32 in [0, 1], ``points`` (68, 2) crop pixels,
    ``label_variance`` (68,) crop pixels² (:func:`label_variance`).
    """

    def __init__(self, patches: list[FacePatch], input_size: int, augment: AugmentConfig | None = None,
                 seed: int = 0):
        self.patches, self.input_size, self.augment = patches, input_size, augment
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return len(self.patches)

    def __getitem__(self, index: int):
        patch = self.patches[index]
        size = self.input_size
        occluded = np.zeros(len(patch.points), bool) if patch.occluded is None else patch.occluded
        if self.augment is None:
            matrix = crop_transform(patch.box, size)
            crop, points = warp(patch.pixels, matrix, size), transform_points(matrix, patch.points)
        else:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            crop, points, flipped = self._augmented(patch, rng)
            occluded = occluded[MIRROR_68] if flipped else occluded
        image = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float() / 255.0
        return {"image": image, "points": torch.from_numpy(points.astype(np.float32)),
                "label_variance": torch.from_numpy(label_variance(points, occluded).astype(np.float32))}

    def _augmented(self, patch: FacePatch, rng: np.random.Generator):
        """(crop, its points, whether it was mirrored: the points are renumbered then)"""
        aug, size = self.augment, self.input_size
        from_landmarks = patch.box_from_landmarks or rng.random() < aug.tight_box
        box = np.array(tight_box(patch.points) if from_landmarks else patch.box, float)
        # no draw without detector boxes: a run without them augments as it always did
        if not from_landmarks and aug.detector_box and patch.detected_box and rng.random() < aug.detector_box:
            box = np.array(patch.detected_box, float)
        if from_landmarks and aug.box_jitter:
            w, h = box[2] - box[0], box[3] - box[1]
            box += rng.uniform(-aug.box_jitter, aug.box_jitter, 4) * np.array([w, h, w, h])
        flip = rng.random() < aug.flip
        centre = ((size - 1) / 2.0, (size - 1) / 2.0)
        jitter = similarity_about(centre, scale=1.0 + rng.uniform(-aug.scale, aug.scale),
                                  angle_deg=rng.uniform(-aug.rotation, aug.rotation),
                                  shift=tuple(rng.uniform(-aug.shift, aug.shift, 2) * size),
                                  flip_width=size if flip else None)
        to_crop = crop_transform(tuple(box), size)
        crop = warp(patch.pixels, jitter @ to_crop, size)
        labels = transform_points(to_crop, patch.points)                     # (68, 2) before the jitter
        if flip:  # the mirror x → size−1−x would turn the annotations' offset +d into −d: keep +d
            labels[:, 0] -= 2 * aug.mirror_shift * size
        points = transform_points(jitter, labels)
        if flip:
            points = points[MIRROR_68]
        return degrade(jitter_colours(crop, rng, aug), rng, aug), points, flip


def label_variance(points: np.ndarray, occluded: np.ndarray) -> np.ndarray:
    """(68,) the variance of each label of a face: (:data:`OCCLUDED_SD` × its inter-ocular
    distance)² where the point is occluded, 0 where it is exact; in the points' units²."""
    interocular = np.linalg.norm(points[OUTER_EYE_CORNERS[0]] - points[OUTER_EYE_CORNERS[1]])
    return np.where(occluded, (OCCLUDED_SD * interocular) ** 2, 0.0)


def degrade(crop: np.ndarray, rng: np.random.Generator, aug: AugmentConfig) -> np.ndarray:
    """What an ordinary photo does to a face: too few pixels, JPEG blocks, blur.
    (S, S, 3) uint8 → (S, S, 3) uint8."""
    size = crop.shape[0]
    small = size
    if rng.random() < aug.low_resolution:  # the face box spans about size / CROP_CONTEXT pixels
        face = np.exp(rng.uniform(np.log(aug.min_face), np.log(size / CROP_CONTEXT)))
        small = max(8, int(round(face * CROP_CONTEXT)))
        crop = cv2.resize(crop, (small, small), interpolation=cv2.INTER_AREA)
    if rng.random() < aug.jpeg:
        quality = int(rng.integers(30, 91))
        ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
        crop = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else crop
    if small != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < aug.blur:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.5))
    return crop


def jitter_colours(crop: np.ndarray, rng: np.random.Generator, aug: AugmentConfig) -> np.ndarray:
    image = crop.astype(np.float32)
    if aug.colour:
        brightness, contrast, saturation = 1.0 + rng.uniform(-aug.colour, aug.colour, 3)
        grey = image.mean(axis=2, keepdims=True)
        image = grey + saturation * (image - grey)
        image = (image - image.mean()) * contrast + image.mean() * brightness
    if rng.random() < aug.grey:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    if rng.random() < aug.occlusion:
        size = crop.shape[0]
        w, h = (rng.uniform(0.1, 0.4, 2) * size).astype(int)
        x, y = rng.integers(0, size - w), rng.integers(0, size - h)
        image[y:y + h, x:x + w] = rng.uniform(0, 255, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def cut_patches(records: list[FaceRecord], input_size: int, progress=None) -> list[FacePatch]:
    """Patches of all records, reading each image file once."""
    patches, cache_path, cache_image = [], None, None
    for i, record in enumerate(records):
        if record.image_path != cache_path:
            cache_path, cache_image = record.image_path, load_image(record.image_path)
        patches.append(cut_patch(record, input_size, cache_image))
        if progress:
            progress(i + 1, len(records))
    return patches

