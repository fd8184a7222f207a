"""Our detector's boxes for the training faces, so the model learns the box it is fed.

Users' photos reach the model through :class:`~uglli_core.detection.detect.FaceDetector`, whose
boxes sit around a face differently from the 300-W boxes the model otherwise trains
with (mean IoU 0.77 after calibration; how much differently depends on the face's pose
and size). Each training face is therefore looked for once the way a user's photo is:
in its photo-like image (:func:`~uglli_core.training.photo_like.photo_like_face`: shrunk to a face
of 40–250 px and JPEG-compressed, drawn per face from the run's seed), and the box found
is mapped back to the record's own pixels. Training then draws that box for a share of
the faces (``AugmentConfig.detector_box``).

Finding them takes about 25 ms a face (the images are small); they are kept in the run
folder (``detected_boxes.json``) and a resumed run reads them back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..detection.detect import FaceDetector
from ..files.pts import atomic_write_text
from ..files.records import FaceRecord
from ..maths.geometry import Box
from .photo_like import photo_like_face

CACHE_NAME = "detected_boxes.json"


def detected_box(record: FaceRecord, seed: int, detector: FaceDetector) -> Box | None:
    """Our detector's box for ``record``'s face in its photo-like image, in the record's
    image pixels; None when the detector misses it there."""
    face = photo_like_face(record, seed, detector)
    if face.detected_box is None:
        return None
    return tuple(float(v) / face.scale for v in face.detected_box)   # the resize is a pure scale


def attach_detected_boxes(records: list[FaceRecord], run_dir: str | Path, seed: int,
                          progress: Callable[[int, int], None] | None = None) -> None:
    """Set ``detected_box`` of every record (None: missed), from the run folder's cache
    when it has them for this seed, else by running the detector (then cached)."""
    cache_path = Path(run_dir) / CACHE_NAME
    cached: dict[str, list | None] = {}
    if cache_path.exists():
        saved = json.loads(cache_path.read_text())
        if saved.get("seed") == seed:
            cached = saved["boxes"]
    missing = [r for r in records if r.key not in cached]
    detector = FaceDetector() if missing else None
    for done, record in enumerate(missing, start=1):
        cached[record.key] = detected_box(record, seed, detector)
        if progress:
            progress(done, len(missing))
    if missing:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache_path, json.dumps({"seed": seed, "boxes": cached}))
    for record in records:
        box = cached[record.key]
        record.detected_box = None if box is None else tuple(box)
