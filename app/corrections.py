"""Which faces of a project can teach the model, as the core's training records. Plain Python.

A face the reviewer has accepted (Review → Accept Face) or whose points they moved has
points that count as ground truth: its current points (edited, else annotated, else the
accepted prediction).
"""
from __future__ import annotations

import numpy as np

from uglli_core import FaceRecord

from .project import BoxSource, Face, Project

MIN_FACES = 5          # fewer corrected faces than this cannot both train and measure
CHOICES = {            # key → what the dialog says
    "both": "Reviewed or corrected faces",
    "reviewed": "Reviewed faces (accepted)",
    "corrected": "Corrected faces (points moved)",
}


def corrected_faces(project: Project, which: str = "both") -> list[Face]:
    """The faces ``which`` names ("reviewed", "corrected" or "both") that have points to learn from."""
    if which not in CHOICES:
        raise ValueError(f"which must be one of {', '.join(CHOICES)}")

    def wanted(face: Face) -> bool:
        reviewed, corrected = face.reviewed, face.edited is not None
        return {"reviewed": reviewed, "corrected": corrected, "both": reviewed or corrected}[which]

    return [face for face in project.faces()
            if wanted(face) and face.points is not None and not face.image.unreadable]


def face_records(project: Project, faces: list[Face]) -> list[FaceRecord]:
    """Training records for ``faces``; the points are copied, so that later edits on the
    GUI thread never reach a training thread. Keys are ``<image path>#<face index>``."""
    return [FaceRecord(project.image_path(face.image), tuple(float(v) for v in face.box),
                       np.array(face.points, dtype=np.float64), name=face.image.path, face=face.index,
                       box_from_landmarks=face.box_source == BoxSource.ANNOTATION)
            for face in faces]


def held_out_count(faces: int, fraction: float, minimum: int) -> int:
    """How many of ``faces`` the core's split holds out (one subset: a fraction, at least ``minimum``)."""
    return min(faces, max(round(fraction * faces), minimum))


def repredictable_faces(project: Project) -> list[Face]:
    """Faces whose prediction a new model may replace: none of their points has been
    reviewed, moved or accepted, so nothing the reviewer did is lost."""
    return [face for face in project.faces() if face.prediction is not None and not face.reviewed
            and face.edited is None and not face.point_reviewed.any()]
