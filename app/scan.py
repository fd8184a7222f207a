"""What a folder holds: its images and the face boxes and annotations that come with them.

A 300-W ``MANIFEST.csv`` gives each listed crop its detector box; otherwise
``<stem>.pts`` / ``<stem>_<k>.pts`` files give faces boxed by their landmarks;
images with neither are left for the face detector.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from uglli_core import DatasetError, PtsError, annotation_files, is_image_file, read_manifest, read_pts
from uglli_core.data import MANIFEST_NAME, tight_box
from uglli_core.geometry import Box

from .project import BoxSource

STATE_DIR_NAME = ".uglli"


@dataclass
class FoundFace:
    box: Box
    box_source: BoxSource
    annotation: np.ndarray | None = None


@dataclass
class FoundImage:
    path: str                                   # relative to the folder, '/'-separated
    faces: list[FoundFace] = field(default_factory=list)
    problem: str = ""                           # e.g. a malformed .pts file


def list_images(folder: Path) -> list[str]:
    """Relative paths of the image files under ``folder`` (hidden folders skipped), sorted."""
    found = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue  # an unreadable sub-folder holds nothing we can show
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif is_image_file(entry.name):
                found.append(Path(entry.path).relative_to(folder).as_posix())
    return sorted(found)


@dataclass
class FolderScan:
    present: list[str]                          # every image file, relative
    new_images: list[FoundImage]                # those not already known, with their faces
    problems: list[str]                         # not tied to one image (e.g. a manifest row)


def scan_folder(folder: Path, known: set[str] = frozenset()) -> FolderScan:
    """The images under ``folder``; those not in ``known`` are read with their faces."""
    present = list_images(folder)
    new_paths = [p for p in present if p not in known]
    problems: list[str] = []
    listed = _manifest_faces(folder, problems) if new_paths and (folder / MANIFEST_NAME).is_file() else {}
    images = [_manifest_image(folder, path, listed[path]) if path in listed else _annotated_image(folder, path)
              for path in new_paths]
    missing = sorted(set(listed) - set(present))
    problems += [f"{MANIFEST_NAME} lists {p}, which is not in the folder" for p in missing]
    return FolderScan(present, images, problems)


def _manifest_faces(folder: Path, problems: list[str]) -> dict[str, list[FoundFace]]:
    """The manifest's boxes by image; its .pts files are read per image, so that a broken
    one costs its image the annotation, not the box."""
    try:
        records = read_manifest(folder / MANIFEST_NAME, problems, points=False)
    except DatasetError as exc:
        problems.append(str(exc))
        return {}
    faces: dict[str, list[FoundFace]] = {}
    for record in records:
        faces.setdefault(Path(record.name).as_posix(), []).append(FoundFace(record.box, BoxSource.MANIFEST))
    return faces


def _manifest_image(folder: Path, path: str, faces: list[FoundFace]) -> FoundImage:
    image = FoundImage(path, faces)
    pts_path = (folder / path).with_suffix(".pts")
    if len(faces) == 1 and pts_path.exists():  # 300-W crops: one face, <stem>.pts
        try:
            faces[0].annotation = read_pts(pts_path)
        except PtsError as exc:
            image.problem = _short(exc, pts_path)
    return image


def _annotated_image(folder: Path, path: str) -> FoundImage:
    image = FoundImage(path)
    errors = []
    for pts_path in annotation_files(folder / path):
        try:
            points = read_pts(pts_path)
        except PtsError as exc:
            errors.append(_short(exc, pts_path))
            continue
        image.faces.append(FoundFace(tight_box(points), BoxSource.ANNOTATION, points))
    image.problem = "; ".join(errors)
    return image


def _short(error: PtsError, pts_path: Path) -> str:
    """The error naming the file, not its whole path."""
    return str(error).replace(str(pts_path), pts_path.name)
