"""Images and faces as rows of the review database, and back (no Qt).

Arrays are little-endian float64 blobs; flags per point (reviewed, occluded) one byte
each. A column a file of an older schema did not have reads as nothing known: no
network Gaussians, no model, no point occluded, no turn known.
"""
from __future__ import annotations

import os

import numpy as np

from uglli_core import N_LANDMARKS, FacePrediction

from .faces import BoxSource, Face, ImageEntry, display_text

_BOX_SOURCES = {source.value: source for source in BoxSource}


def image_row(image: ImageEntry) -> tuple:
    width, height = image.size or (None, None)
    return (image.id, _path_to_db(image.path), int(image.detected), int(image.unreadable),
            display_text(image.problem), width, height)


def image_from_row(row: tuple) -> ImageEntry:
    image_id, path, detected, unreadable, problem, width, height = row
    size = (width, height) if width is not None else None
    return ImageEntry(image_id, _path_from_db(path), [], bool(detected), bool(unreadable), problem, size)


def face_row(face: Face) -> tuple:
    prediction = face.prediction
    return (face.id, face.image.id, face.index, *face.box, face.box_source.value, _blob(face.annotation),
            _blob(None if prediction is None else prediction.landmarks),
            _blob(None if prediction is None else prediction.covariances),
            _blob(face.edited), _flags(face.point_reviewed), int(face.reviewed),
            _blob(None if prediction is None else prediction.network_landmarks),
            _blob(None if prediction is None else prediction.network_covariances),
            None if prediction is None else prediction.model,
            _flags(face.occluded) if face.occluded.any() else None, face.turn)


def face_from_row(row: tuple, images: dict[int, ImageEntry]) -> Face | None:
    """The face of a row, in its image of ``images``; None when that image is not there."""
    (face_id, image_id, index, x0, y0, x1, y1, box_source, annotation, landmarks, covariances, edited,
     point_reviewed, reviewed, network_landmarks, network_covariances, model, occluded, turn) = row
    image = images.get(image_id)
    if image is None:
        return None
    box = (x0, y0, x1, y1)
    landmarks = _array(landmarks, (N_LANDMARKS, 2))
    prediction = None
    if landmarks is not None:
        prediction = FacePrediction(box, landmarks, _array(covariances, (N_LANDMARKS, 2, 2)),
                                    _array(network_landmarks, (N_LANDMARKS, 2)),
                                    _array(network_covariances, (N_LANDMARKS, 2, 2)), model, turn or 0)
    return Face(face_id, image, index, box, _BOX_SOURCES[box_source],
                annotation=_array(annotation, (N_LANDMARKS, 2)), prediction=prediction,
                edited=_array(edited, (N_LANDMARKS, 2)), point_reviewed=_flags_from(point_reviewed),
                reviewed=bool(reviewed),
                occluded=np.zeros(N_LANDMARKS, bool) if occluded is None else _flags_from(occluded), turn=turn)


def _path_to_db(path: str) -> str | bytes:
    """A file name that is not valid UTF-8 (Python carries its bytes as surrogates) is kept
    as its raw bytes, so that it still names the same file."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def _path_from_db(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _blob(array: np.ndarray | None) -> bytes | None:
    return None if array is None else np.ascontiguousarray(array, dtype="<f8").tobytes()


def _array(blob: bytes | None, shape: tuple[int, ...]) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<f8").reshape(shape).copy()


def _flags(flags: np.ndarray) -> bytes:
    return flags.astype(np.uint8).tobytes()


def _flags_from(blob: bytes) -> np.ndarray:
    flags = np.frombuffer(blob, dtype=np.uint8).astype(bool)
    if flags.shape != (N_LANDMARKS,):
        raise ValueError(f"{flags.size} point flags where {N_LANDMARKS} belong")
    return flags
