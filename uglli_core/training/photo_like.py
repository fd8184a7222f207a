"""Validation faces as test images: the crops as they are, and the 'photo-like' set.

A 300-W crop shows its face at about 230 px, sharp and once compressed. An ordinary
photo shows faces of 40 to 250 px, compressed again by a camera or a website, and the
box comes from our detector, not from the 300-W challenge's. The photo-like set makes
each validation face look like that, deterministically:

* the 384×384 crop is resized so that the face's 300-W box (√(w·h)) is a size drawn
  log-uniformly from :data:`FACE_SIZES` (on the validation split 191 of 201 faces are
  shrunk, 10 enlarged by 17 % at most: their crop's box is smaller than the size drawn);
* it is JPEG-compressed at a quality drawn from :data:`JPEG_QUALITIES` and decoded as the
  app decodes files;
* the face is looked for with our :class:`~uglli_core.detection.detect.FaceDetector`: the
  detection with the best IoU with the known 300-W box, when that IoU is at least
  :data:`MATCH_IOU`; otherwise the face counts as missed (``detected_box`` is None).

The crops (:func:`crop_face`) are the other view of the same faces, the 300-W way: the
384×384 crop as it is, the face looked for the same way.

Every face also gets a 'hand-drawn' box: the tight box of its points with each edge
moved by up to ±:data:`HAND_DRAWN_JITTER` of the box's width or height (the same moves,
relative to the box, in a face's crop and its photo-like image).

Draws are seeded per face from ``(seed, face key)``, so a face looks the same whatever
other faces are built with it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from ..detection.detect import FaceDetector
from ..files.images import decode_image, load_image
from ..files.records import FaceRecord, tight_box
from ..maths.geometry import Box, best_overlap, resize_transform, transform_points

FACE_SIZES = (40.0, 250.0)       # px, 300-W box √(w·h), drawn log-uniformly
JPEG_QUALITIES = (60, 95)        # inclusive; cameras and websites mostly save in this range
MATCH_IOU = 0.4                  # a detection this close to the known box is that face
HAND_DRAWN_JITTER = 0.07         # each edge of a hand-drawn box: ± this share of the box side


@dataclass(frozen=True)
class PhotoFace:
    """One annotated face in the image a user would have; everything in its pixels."""
    key: str                     # the record's "name#face"
    subset: str                  # the manifest's, e.g. "helen/trainset"
    image: np.ndarray            # (H, W, 3) uint8 RGB
    points: np.ndarray           # (68, 2) ground truth
    box: Box                     # the 300-W detector box
    hand_drawn_box: Box          # the tight box, each edge jittered
    detected_box: Box | None     # our detector's box for this face; None: missed
    scale: float                 # image pixels per crop pixel (1: the crop itself)
    jpeg_quality: int | None     # None: the crop's own file, not compressed again

    @property
    def tight_box(self) -> Box:
        return tight_box(self.points)

    @property
    def size(self) -> float:
        """√(w·h) of the 300-W box, in pixels."""
        x0, y0, x1, y1 = self.box
        return float(np.sqrt((x1 - x0) * (y1 - y0)))


def face_rng(seed: int, record: FaceRecord, purpose: str) -> np.random.Generator:
    """The generator of one face's draws for one ``purpose``: the same for the same
    seed, face key and purpose, whatever else is drawn."""
    return np.random.default_rng([seed, zlib.crc32(record.key.encode()), zlib.crc32(purpose.encode())])


def hand_drawn_box(box: Box, rng: np.random.Generator, jitter: float = HAND_DRAWN_JITTER) -> Box:
    """``box`` with each edge moved by a uniform ±``jitter`` of the box's width (x edges)
    or height (y edges)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dx0, dy0, dx1, dy1 = rng.uniform(-jitter, jitter, 4) * np.array([w, h, w, h])
    return float(x0 + dx0), float(y0 + dy0), float(x1 + dx1), float(y1 + dy1)


def find_face(detector: FaceDetector, image: np.ndarray, box: Box) -> Box | None:
    """Our detector's box for the face whose 300-W box is ``box``; None when missed."""
    return best_overlap(detector.detect(image), box, MATCH_IOU)


def crop_face(record: FaceRecord, seed: int, detector: FaceDetector) -> PhotoFace:
    """The validation face in its own 384×384 crop, unchanged."""
    return _photo_face(record, seed, load_image(record.image_path), np.eye(3), None, detector)


def photo_like_face(record: FaceRecord, seed: int, detector: FaceDetector) -> PhotoFace:
    """The validation face resized to a drawn size and JPEG-compressed (module docstring)."""
    rng = face_rng(seed, record, "photo")
    face_size = np.exp(rng.uniform(*np.log(FACE_SIZES)))
    quality = int(rng.integers(JPEG_QUALITIES[0], JPEG_QUALITIES[1] + 1))
    x0, y0, x1, y1 = record.box
    resized, crop_to_image = resize(load_image(record.image_path), face_size / np.sqrt((x1 - x0) * (y1 - y0)))
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(resized, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"{record.key}: JPEG encoding failed")
    return _photo_face(record, seed, decode_image(encoded, record.key), crop_to_image, quality, detector)


def resize(image: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) → (the image resized by ``scale`` (area averaging when shrinking), the
    3×3 matrix that maps its pixel coordinates to the resized image's)."""
    height, width = image.shape[:2]
    resized_size = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, resized_size, interpolation=interpolation), resize_transform((width, height), resized_size)


def _photo_face(record: FaceRecord, seed: int, image: np.ndarray, crop_to_image: np.ndarray,
                quality: int | None, detector: FaceDetector) -> PhotoFace:
    """``record`` in ``image``, whose pixels ``crop_to_image`` maps the crop's to."""
    if record.points is None:
        raise ValueError(f"{record.key}: no ground-truth points")
    points = transform_points(crop_to_image, record.points)                       # (68, 2)
    corners = transform_points(crop_to_image, np.reshape(record.box, (2, 2)))     # (2, 2)
    box = tuple(float(v) for v in corners.ravel())
    hand_drawn = hand_drawn_box(tight_box(points), face_rng(seed, record, "hand-drawn box"))
    return PhotoFace(record.key, record.subset, image, points, box, hand_drawn,
                     find_face(detector, image, box), float(crop_to_image[0, 0]), quality)


def build_set(make_face, records: list[FaceRecord], seed: int = 0,
              detector: FaceDetector | None = None) -> list[PhotoFace]:
    """``make_face`` (:func:`crop_face` or :func:`photo_like_face`) of every annotated
    record, in order; ``detector`` defaults to the one ``uglli predict`` uses."""
    detector = detector or FaceDetector()
    return [make_face(r, seed, detector) for r in records if r.points is not None]
