"""Which faces of a project can teach the model, as the core's training records. Plain Python.

A face the reviewer has accepted (Review → Accept Face) or whose points they moved has
points that count as ground truth: its current points (edited, else annotated, else the
accepted prediction). Points the reviewer marked occluded go with them, so that training
takes those as uncertain rather than exact.
"""
from __future__ import annotations

import math

import numpy as np

from uglli_core import FaceRecord
from uglli_core.files.splits import split_records

from .faces import BoxSource, Face
from .project import Project

MIN_FACES = 5          # fewer corrected faces than this cannot both train and measure
# Per-face NME_io varies by about 2 % from face to face, so the mean of n held-out faces
# moves by about 2 / √n % by chance alone: ±1.2 % at 3 faces, ±0.45 % at 20, which is
# the size of what a fine-tune changes. Fewer held-out faces than this get a warning.
TRUSTED_HELD_OUT = 20
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
                       box_from_landmarks=face.box_source == BoxSource.ANNOTATION,
                       occluded=face.occluded.copy() if face.occluded.any() else None)
            for face in faces]


def held_out_count(project: Project, faces: list[Face], fraction: float, minimum: int, seed: int = 0) -> int:
    """How many of ``faces`` fine-tuning holds out: the core's split itself, which holds
    out whole photos (``fraction`` of the faces, at least ``minimum``)."""
    return len(split_records(face_records(project, faces), fraction, seed=seed, minimum=minimum)[1])


def held_out_warning(held: int) -> str | None:
    """Why NME before and after on ``held`` held-out faces says little, or None."""
    if held >= TRUSTED_HELD_OUT:
        return None
    return (f"Only {held} held-out face{'s' * (held != 1)}: their NME before and after moves by about "
            f"±{2 / max(held, 1) ** 0.5:.1f} % by chance alone, as much as fine-tuning changes it. Treat the "
            f"figures as a rough sign; {TRUSTED_HELD_OUT} or more held-out faces give figures to go by.")


def activation_risks(before: dict, after: dict, held: int) -> list[str]:
    """Why making a fine-tuned model active may do harm, from the held-out figures of the
    model it started from (``before``) and its own (``after``) on ``held`` faces: too few
    faces to go by, a worse NME_io, or a model less sure of those faces (its uncertainty
    ranks the folder's faces; a model less sure of them is likely less sure of the rest)."""
    risks = [warning] if (warning := held_out_warning(held)) else []
    nme = _figures(before, after, "nme_io")
    if nme and nme[1] > nme[0]:
        risks.append(f"Its NME_io on the held-out faces is worse: {nme[0]:.2f} → {nme[1]:.2f} %.")
    sure = _figures(before, after, "uncertainty")
    if sure and sure[1] > sure[0]:
        risks.append(f"It is less sure of the held-out faces: their mean uncertainty rose from {sure[0]:.2f} to "
                     f"{sure[1]:.2f} % ({100 * (sure[1] / sure[0] - 1):+.0f} %). The unreviewed faces' may rise "
                     "too, and their order in the list change.")
    return risks


def _figures(before: dict, after: dict, key: str) -> tuple[float, float] | None:
    """(before, after) of a figure both have, as positive finite numbers; else None."""
    pair = before.get(key), after.get(key)
    if all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in pair):
        return float(pair[0]), float(pair[1])
    return None


def mean_uncertainty(faces) -> float | None:
    values = [face.uncertainty for face in faces if face.uncertainty is not None]
    return float(np.mean(values)) if values else None


def uncertainty_moved(model: str, before: dict[Face, float | None], folder_before: float | None,
                      project: Project) -> str:
    """How the folder's uncertainty moved once ``model`` predicted again the faces of ``before``
    (their uncertainty under the previous model)."""
    pairs = [(old, face.uncertainty) for face, old in before.items()
             if old is not None and face.uncertainty is not None and project.face(face.id) is face]
    if not pairs:
        return f"Predicting with {model}: no face has been predicted again yet."
    old, new = np.array(pairs).T
    text = (f"With {model}, the {len(pairs)} faces predicted again went from a mean uncertainty of "
            f"{old.mean():.2f} % to {new.mean():.2f} % ({100 * (new.mean() / old.mean() - 1):+.0f} %)")
    folder_after = mean_uncertainty(project.faces())
    if folder_before is not None and folder_after is not None:
        text += f"; over the whole folder, {folder_before:.2f} % → {folder_after:.2f} %"
    return text + ". (Lower means the model is surer, not that it is right: check the faces.)"


def repredictable_faces(project: Project) -> list[Face]:
    """Faces whose prediction a new model may replace: none of their points has been
    reviewed, moved or accepted, so nothing the reviewer did is lost."""
    return [face for face in project.faces() if face.prediction is not None and not face.reviewed
            and face.edited is None and not face.point_reviewed.any()]


def other_model_faces(project: Project, model: str) -> list[Face]:
    """The faces of :func:`repredictable_faces` whose prediction another model than the one
    of identity ``model`` made (or a model not known: one stored before models were
    recorded). Their uncertainty is not on the scale of that model's."""
    return [face for face in repredictable_faces(project) if face.prediction.model != model]
