"""Export reviewed faces as 300-W ``.pts`` files plus one COCO-keypoints JSON and, when
asked, dlib's imglab XML (:mod:`.imglab`) (no Qt).

Two steps, so that the GUI can ask before anything is replaced: :func:`plan_export`
says what would be written, which files already exist and whether the target holds
another folder's export; :func:`write_export` writes, replacing existing files only
when told to, each file under a temporary name renamed into place.

The COCO file follows the 68-point iBUG 300-W markup, its keypoints named ``p1``…``p68``
as the points are numbered in that markup; a point is marked visible (v=2) when it lies
in the image and the reviewer has not marked it occluded, else labelled but not visible
(v=1); a face's box is the tight box of its points as exported, not the box it was found
with. Neither ``.pts`` nor imglab XML has a visibility flag: an occluded point is written
in them where it was placed, and the report of the export says so.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from uglli_core import AnnotationIndex, ImageReadError, load_image, write_pts
from uglli_core.files.images import image_size
from uglli_core.files.pts import COORDINATES, atomic_write_text

from .faces import Face
from .imglab import IMGLAB_NAME, imglab_file_name, imglab_xml
from .landmark_geometry import CONTOURS
from .project import Project

COCO_NAME = "landmarks_coco.json"
DESCRIPTION = "68 facial landmarks reviewed with UGLLI Review in "   # + the folder's name
KEYPOINTS = ("keypoints p1–p68: the iBUG 300-W 68-point markup, numbered 1–68 as in its figures (p1–p17 jaw, "
             "p18–p27 brows, p28–p36 nose, p37–p48 eyes, p49–p68 mouth); v=2 a point in the image, "
             "v=1 a point outside it or marked occluded by the reviewer (labelled, not visible; "
             "uglli.occluded lists the occluded ones); bbox: the tight box of the points")
NAMED = 3   # files named in a report; more are counted


class ExportError(Exception):
    """Writing stopped at a file that could not be written (a full disk, a folder that
    cannot be written): what was written before it, kept and not written."""

    def __init__(self, failed: Path, reason: str, written: list[Path], skipped: list[Path],
                 not_written: list[Path]):
        super().__init__(f"{failed}: {reason}")
        self.failed, self.reason = failed, reason
        self.written, self.skipped, self.not_written = written, skipped, not_written


@dataclass
class ExportPlan:
    pts_files: list[tuple[Path, np.ndarray]] = field(default_factory=list)
    coco_path: Path | None = None
    coco: dict = field(default_factory=dict)
    imglab_path: Path | None = None                        # dlib's imglab XML, when asked for
    imglab: str = ""                                       # its text
    existing: list[Path] = field(default_factory=list)     # would be replaced
    problems: list[str] = field(default_factory=list)      # faces left out, and why
    not_reviewed: int = 0                                  # faces left out: not reviewed (scope: reviewed only)
    without_points: int = 0                                # faces left out: nothing predicted or annotated yet
    occluded_points: int = 0                               # points marked occluded in the faces written
    other_dataset: str | None = None                       # the folder whose export coco_path holds, when not ours

    @property
    def face_count(self) -> int:
        return len(self.pts_files)

    def whole_files(self) -> list[tuple[Path, Callable[[], str]]]:
        """The files of the whole export, written after the .pts files: (path, what makes its text)."""
        files = [(self.coco_path, lambda: json.dumps(self.coco, indent=1) + "\n")]
        return files + ([(self.imglab_path, lambda: self.imglab)] if self.imglab_path is not None else [])


def pts_name(image_path: str, number: int, numbered: bool) -> PurePosixPath:
    """``<stem>_<k>.pts`` for face number k of a numbered image, else ``<stem>.pts``."""
    path = PurePosixPath(image_path)
    return path.with_name(path.stem + (f"_{number}.pts" if numbered else ".pts"))


def plan_export(project: Project, target: Path, only_reviewed: bool = True, imglab: bool = False) -> ExportPlan:
    """What exporting the reviewed faces (or, without ``only_reviewed``, every face with
    points) to ``target`` writes, with dlib's imglab XML when ``imglab``. Each face keeps
    its number: ``<stem>_<k>.pts`` unless it is its image's only face, number 1, and was
    not read from a numbered file."""
    target = Path(target)
    plan = ExportPlan(coco_path=target / COCO_NAME, imglab_path=target / IMGLAB_NAME if imglab else None)
    annotations = AnnotationIndex()
    coco_images, annotations_out, imglab_images = [], [], []
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
        imglab_images.append((imglab_file_name(path, target), [face.points for face in chosen]))
        for face in chosen:
            plan.pts_files.append((target / pts_name(image.path, face.index, numbered), face.points))
            annotations_out.append(_coco_annotation(face, width, height))
            plan.occluded_points += int(face.occluded.sum())
    plan.coco = {
        "info": {"description": DESCRIPTION + project.folder.name, "source_folder": str(project.folder),
                 "coordinates": COORDINATES,  # COCO keypoints are pixel indices: 0-based centres
                 "keypoints": KEYPOINTS},
        "images": coco_images,
        "annotations": annotations_out,
        "categories": [{
            "id": 1, "name": "face", "supercategory": "person",
            "keypoints": [f"p{k}" for k in range(1, 69)],
            "skeleton": [[k + 1, k + 2] for first, last, _ in CONTOURS for k in range(first, last)]
                        + [[last + 1, first + 1] for first, last, closed in CONTOURS if closed],
        }],
    }
    if imglab:
        plan.imglab = imglab_xml(imglab_images, DESCRIPTION + project.folder.name,
                                 f"source folder: {project.folder}; parts 00-67: the iBUG 300-W 68-point markup; "
                                 "x, y: the nearest whole pixel (0-based); box: the tight box of the parts; "
                                 "no visibility: occluded parts are where the reviewer placed them")
    plan.existing = [path for path, _ in [*plan.pts_files, *plan.whole_files()] if path.exists()]
    if plan.coco_path.exists():
        source = exported_from(plan.coco_path)
        if source is not None and source not in (str(project.folder), project.folder.name):
            plan.other_dataset = source
    return plan


def exported_from(coco_path: Path) -> str | None:
    """The folder whose faces an existing export's COCO file holds, as its info says: the
    whole path, or only the folder's name for an export that did not record the path;
    None when the file is not such an export."""
    try:
        info = json.loads(coco_path.read_text(encoding="utf-8")).get("info")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(info, dict):
        return None
    source, description = info.get("source_folder"), info.get("description")
    if isinstance(source, str):
        return source
    if isinstance(description, str) and description.startswith(DESCRIPTION):
        return description.removeprefix(DESCRIPTION)
    return None


def _coco_annotation(face: Face, width: int, height: int) -> dict:
    points = face.points
    # The image spans -0.5 … size - 0.5 in pixel-centre coordinates.
    inside = ((points >= -0.5) & (points <= (width - 0.5, height - 0.5))).all(axis=1)
    visible = inside & ~face.occluded
    keypoints = np.column_stack([points, np.where(visible, 2.0, 1.0)])  # 2: visible; 1: labelled, not visible
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return {
        "id": face.id, "image_id": face.image.id, "category_id": 1, "iscrowd": 0,
        "bbox": [round(float(v), 3) for v in (x0, y0, x1 - x0, y1 - y0)],
        "area": round(float((x1 - x0) * (y1 - y0)), 3),
        "num_keypoints": len(face.points), "keypoints": [round(float(v), 3) for v in keypoints.ravel()],
        "uglli": {"face": face.index, "source": face.source.value, "reviewed": face.reviewed,
                  "uncertainty": face.uncertainty,
                  "occluded": [int(k) + 1 for k in np.flatnonzero(face.occluded)]},   # as p1–p68 number them
    }


def write_export(plan: ExportPlan, replace_existing: bool) -> tuple[list[Path], list[Path]]:
    """Write the plan, the .pts files then the COCO file (and the imglab XML); returns
    (written, skipped because they exist). Raises :class:`ExportError` at the first file
    that cannot be written."""
    files = [(path, lambda path=path, points=points: write_pts(path, points)) for path, points in plan.pts_files]
    files += [(path, lambda path=path, text=text: atomic_write_text(path, text())) for path, text in plan.whole_files()]
    existing = set(plan.existing) if not replace_existing else set()
    skipped = [path for path, _ in files if path in existing]
    to_write = [(path, write) for path, write in files if path not in existing]
    written = []
    for number, (path, write) in enumerate(to_write):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write()
        except OSError as exc:
            raise ExportError(path, exc.strerror or str(exc), written, skipped,
                              [path for path, _ in to_write[number:]]) from exc
        written.append(path)
    return written, skipped


def export_counts(project: Project) -> tuple[int, int]:
    """(reviewed faces with points, faces with points): what each export scope would write."""
    with_points = [face for face in project.faces() if face.points is not None]
    return sum(face.reviewed for face in with_points), len(with_points)


def export_report(plan: ExportPlan, written: list[Path], skipped: list[Path]) -> str:
    """What an export wrote and what it left out, in a sentence or two."""
    target = _target(plan)
    text = f"Exported {_files(written)} to {target}." if written else f"Nothing written to {target}."
    left_out = []
    if plan.not_reviewed:
        left_out.append(f"{plan.not_reviewed} face{'s' * (plan.not_reviewed != 1)} not reviewed")
    if plan.without_points:
        left_out.append(f"{plan.without_points} face{'s' * (plan.without_points != 1)} without points yet")
    if plan.problems:
        left_out.append(f"{len(plan.problems)} image{'s' * (len(plan.problems) != 1)} that cannot be read")
    if skipped:
        left_out.append(f"{len(skipped)} existing file{'s' * (len(skipped) != 1)} kept, not replaced "
                        f"({_names(skipped)})")
    return text + _occluded_note(plan, written) + (f" Left out: {'; '.join(left_out)}." if left_out else "")


def _occluded_note(plan: ExportPlan, written: list[Path]) -> str:
    """How the points marked occluded were written: the .pts and imglab formats cannot say it."""
    count = plan.occluded_points
    if not count or not written:
        return ""
    return (f" {count} point{'s' * (count != 1)} marked occluded: v=1 in {COCO_NAME}; the .pts "
            f"{'and imglab ' * (plan.imglab_path is not None)}files have no such flag and hold "
            f"{'it' if count == 1 else 'them'} where placed.")


def failure_report(plan: ExportPlan, error: ExportError) -> str:
    """What an export that stopped at a file it could not write wrote, and what it did not."""
    return (f"Export to {_target(plan)} failed: {error.failed.name} could not be written ({error.reason}). "
            f"Written: {_files(error.written, named=True) if error.written else 'nothing'}. "
            f"Not written: {_files(error.not_written, named=True)}."
            + (f" Kept, not replaced: {_files(error.skipped, named=True)}." if error.skipped else ""))


def _target(plan: ExportPlan) -> Path | str:
    return plan.coco_path.parent if plan.coco_path is not None else ""


def _files(paths: list[Path], named: bool = False) -> str:
    """Say "3 .pts files, landmarks_coco.json and landmarks_imglab.xml", with the .pts
    files' names when ``named``."""
    pts = [path for path in paths if path.suffix == ".pts"]
    counted = [f"{len(pts)} .pts file{'s' * (len(pts) != 1)}" + (f" ({_names(pts)})" if named else "")] if pts else []
    items = counted + [path.name for path in paths if path.suffix != ".pts"]
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _names(paths: list[Path]) -> str:
    return ", ".join(path.name for path in paths[:NAMED]) + (", …" if len(paths) > NAMED else "")
