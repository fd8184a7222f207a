"""Export reviewed faces as 300-W ``.pts`` files plus one COCO-keypoints JSON (no Qt).

Two steps, so that the GUI can ask before anything is replaced: :func:`plan_export`
says what would be written and which files already exist; :func:`write_export`
writes, replacing existing files only when told to.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from uglli_core import AnnotationIndex, ImageReadError, load_image, write_pts
from uglli_core.images import image_size
from uglli_core.pts import atomic_write_text

from .landmark_geometry import CONTOURS
from .project import Face, Project

COCO_NAME = "landmarks_coco.json"


@dataclass
class ExportPlan:
    pts_files: list[tuple[Path, np.ndarray]] = field(default_factory=list)
    coco_path: Path | None = None
    coco: dict = field(default_factory=dict)
    existing: list[Path] = field(default_factory=list)     # would be replaced
    problems: list[str] = field(default_factory=list)      # faces left out, and why
    not_reviewed: int = 0                                  # faces left out: not reviewed (scope: reviewed only)
    without_points: int = 0                                # faces left out: nothing predicted or annotated yet

    @property
    def face_count(self) -> int:
        return len(self.pts_files)


def pts_name(image_path: str, number: int, numbered: bool) -> PurePosixPath:
    """``<stem>_<k>.pts`` for face number k of a numbered image, else ``<stem>.pts``."""
    path = PurePosixPath(image_path)
    return path.with_name(path.stem + (f"_{number}.pts" if numbered else ".pts"))


def plan_export(project: Project, target: Path, only_reviewed: bool = True) -> ExportPlan:
    """What exporting the reviewed faces (or, without ``only_reviewed``, every face with
    points) to ``target`` writes. Each face keeps its number: ``<stem>_<k>.pts`` unless it
    is its image's only face, number 1, and was not read from a numbered file."""
    target = Path(target)
    plan = ExportPlan(coco_path=target / COCO_NAME)
    annotations = AnnotationIndex()
    coco_images, annotations_out = [], []
    for image in project.images:
        with_points = [face for face in image.faces if face.points is not None]
        chosen = [face for face in with_points if face.reviewed or not only_reviewed]
        plan.without_points += len(image.faces) - len(with_points)
        plan.not_reviewed += len(with_points) - len(chosen)
        if not chosen:
            continue
        path = project.image_path(image)
        try:
            width, height = image.size or image_size(path) or load_image(path).shape[1::-1]
        except ImageReadError as exc:
            plan.problems.append(f"{image.path}: left out, the image cannot be read ({exc})")
            continue
        numbered = ([face.index for face in image.faces] != [1]
                    or any(pts.name != path.with_suffix(".pts").name for _, pts in annotations.files(path)))
        coco_images.append({"id": image.id, "file_name": image.path, "width": int(width), "height": int(height)})
        for face in chosen:
            plan.pts_files.append((target / pts_name(image.path, face.index, numbered), face.points))
            annotations_out.append(_coco_annotation(face))
    plan.coco = {
        "info": {"description": f"68 facial landmarks reviewed with UGLLI Review in {project.folder.name}"},
        "images": coco_images,
        "annotations": annotations_out,
        "categories": [{
            "id": 1, "name": "face", "supercategory": "person",
            "keypoints": [f"p{k}" for k in range(68)],
            "skeleton": [[k + 1, k + 2] for first, last, _ in CONTOURS for k in range(first, last)]
                        + [[last + 1, first + 1] for first, last, closed in CONTOURS if closed],
        }],
    }
    plan.existing = [path for path, _ in plan.pts_files if path.exists()]
    if plan.coco_path.exists():
        plan.existing.append(plan.coco_path)
    return plan


def _coco_annotation(face: Face) -> dict:
    x0, y0, x1, y1 = face.box
    keypoints = np.column_stack([face.points, np.full(len(face.points), 2.0)])  # v=2: labelled, visible
    return {
        "id": face.id, "image_id": face.image.id, "category_id": 1, "iscrowd": 0,
        "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
        "num_keypoints": len(face.points), "keypoints": [round(float(v), 3) for v in keypoints.ravel()],
        "uglli": {"face": face.index, "source": face.source.value, "reviewed": face.reviewed,
                  "uncertainty": face.uncertainty},
    }


def write_export(plan: ExportPlan, replace_existing: bool) -> tuple[list[Path], list[Path]]:
    """Write the plan; returns (written, skipped because they exist)."""
    existing = set(plan.existing)
    written, skipped = [], []
    for path, points in plan.pts_files:
        if path in existing and not replace_existing:
            skipped.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_pts(path, points)
        written.append(path)
    if plan.coco_path in existing and not replace_existing:
        skipped.append(plan.coco_path)
    else:
        plan.coco_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(plan.coco_path, json.dumps(plan.coco, indent=1) + "\n")
        written.append(plan.coco_path)
    return written, skipped


def export_counts(project: Project) -> tuple[int, int]:
    """(reviewed faces with points, faces with points): what each export scope would write."""
    with_points = [face for face in project.faces() if face.points is not None]
    return sum(face.reviewed for face in with_points), len(with_points)


def export_report(plan: ExportPlan, written: list[Path], skipped: list[Path]) -> str:
    """What an export wrote and what it left out, in a sentence or two."""
    pts_written = sum(path.suffix == ".pts" for path in written)
    wrote = [f"{pts_written} .pts file{'s' * (pts_written != 1)}"] + \
            [path.name for path in written if path.suffix != ".pts"]
    target = plan.coco_path.parent if plan.coco_path is not None else ""
    text = f"Exported {' and '.join(wrote)} to {target}." if written else f"Nothing written to {target}."
    left_out = []
    if plan.not_reviewed:
        left_out.append(f"{plan.not_reviewed} face{'s' * (plan.not_reviewed != 1)} not reviewed")
    if plan.without_points:
        left_out.append(f"{plan.without_points} face{'s' * (plan.without_points != 1)} without points yet")
    if plan.problems:
        left_out.append(f"{len(plan.problems)} image{'s' * (len(plan.problems) != 1)} that cannot be read")
    if skipped:
        left_out.append(f"{len(skipped)} existing file{'s' * (len(skipped) != 1)} kept, not replaced "
                        f"({', '.join(path.name for path in skipped[:3])}{', …' * (len(skipped) > 3)})")
    return text + (f" Left out: {'; '.join(left_out)}." if left_out else "")
