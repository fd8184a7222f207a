"""What a folder holds: its images and the face boxes and annotations that come with them.

A 300-W ``MANIFEST.csv`` gives each listed crop its detector box; otherwise
``<stem>.pts`` / ``<stem>_<k>.pts`` files give faces boxed by their landmarks, each
numbered as its file (as :func:`uglli_core.read_records` reads a folder for ``uglli
evaluate`` and ``train``); images with neither are left for the face detector.

Opening a folder of tens of thousands of images must stay quick, so no image file
is opened here: whether a box or an annotation fits its image is checked when the
image is read for prediction (:mod:`app.workers.prediction`), with the same rule
(:func:`uglli_core.images.box_problem`) that ``uglli predict`` applies.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from uglli_core import AnnotationIndex, DatasetError, PtsError, is_image_file, read_annotations, read_manifest, read_pts
from uglli_core.data import MANIFEST_NAME, normalised_name, tight_box
from uglli_core.geometry import Box
from uglli_core.images import list_image_files

from .project import PROBLEM_SEPARATOR, BoxSource, display_text

STATE_DIR_NAME = ".uglli"
PROGRESS_EVERY = 500          # images between two progress reports

Progress = Callable[[int, int], None]   # (images read, images to read)


@dataclass
class FoundFace:
    box: Box
    box_source: BoxSource
    annotation: np.ndarray | None = None
    number: int = 1                             # 1-based, as its .pts file numbers it


@dataclass
class FoundImage:
    path: str                                   # relative to the folder, '/'-separated
    faces: list[FoundFace] = field(default_factory=list)
    problem: str = ""                           # e.g. a malformed .pts file


def list_images(folder: Path) -> list[str]:
    """Relative paths of the image files under ``folder``, walked as
    :func:`uglli_core.images.list_image_files` walks it (hidden entries skipped, links to
    folders not followed), '/'-separated and sorted."""
    folder = Path(folder)
    prefix = len(str(folder).rstrip(os.sep)) + 1
    paths = (str(path)[prefix:] for path in list_image_files(folder))
    return sorted(paths if os.sep == "/" else (p.replace(os.sep, "/") for p in paths))


@dataclass
class FolderScan:
    present: list[str]                          # every image file, relative
    new_images: list[FoundImage]                # those not already known, with their faces
    problems: list[str]                         # not tied to one image (e.g. a manifest row)


def scan_folder(folder: Path, known: set[str] = frozenset(), progress: Progress | None = None) -> FolderScan:
    """The images under ``folder``; those not in ``known`` are read with their faces.
    ``progress`` is told now and then how many of the new images have been read."""
    folder = Path(folder)
    present = list_images(folder)
    new_paths = [p for p in present if p not in known]
    problems: list[str] = []
    manifest = folder / MANIFEST_NAME
    # lexists: a manifest that is a FIFO, a folder or a broken link is reported, not ignored
    listed = _manifest_faces(manifest, problems) if new_paths and os.path.lexists(manifest) else {}
    annotations = AnnotationIndex()
    images = []
    for done, path in enumerate(new_paths):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(new_paths))
        images.append(_manifest_image(folder, path, listed[path]) if path in listed
                      else _annotated_image(folder, path, annotations))
    if progress is not None:
        progress(len(new_paths), len(new_paths))
    present_set = set(present)
    problems += [f"{MANIFEST_NAME} lists {_shown(name)}, which {_why_not_an_image(folder, name)}"
                 for name in sorted(set(listed) - present_set)]
    return FolderScan(present, images, [display_text(problem) for problem in problems])


def read_manifest_boxes(path: Path, problems: list[str]) -> list[tuple[str, Box]]:
    """(image path as written, box) of every usable row of a 300-W manifest, without
    opening the images (their boxes are checked when prediction reads them). Raises
    DatasetError for a manifest that cannot be read at all."""
    return [(record.name, record.box)
            for record in read_manifest(path, problems, points=False, check_sizes=False)]


def _manifest_faces(manifest: Path, problems: list[str]) -> dict[str, list[FoundFace]]:
    """The manifest's boxes by image; its .pts files are read per image, so that a broken
    one costs its image the annotation, not the box."""
    try:
        rows = read_manifest_boxes(manifest, problems)
    except DatasetError as exc:
        problems.append(str(exc))
        return {}
    faces: dict[str, list[FoundFace]] = {}
    for name, box in rows:
        found = faces.setdefault(normalised_name(name), [])
        found.append(FoundFace(box, BoxSource.MANIFEST, number=len(found) + 1))
    return faces


def _why_not_an_image(folder: Path, name: str) -> str:
    """Why a name from the manifest is not among the folder's images (the end of a sentence)."""
    try:
        if os.path.isabs(name) or normalised_name(name).split("/")[0] == "..":
            return "is outside the folder: only images inside it can be reviewed"
        path = folder / name
        if os.path.isdir(path):
            return "is a folder, not an image file"
        if not os.path.lexists(path):
            return "is not in the folder"
        if any(part.startswith(".") for part in normalised_name(name).split("/")):
            return "is hidden (names starting with '.' are skipped)"
        if not is_image_file(name):
            return "does not have an image file extension"
        return "cannot be read as an image file"
    except (OSError, ValueError):            # e.g. a NUL byte in the name
        return "is not a valid file name"


def _shown(name: str) -> str:
    return name if name.isprintable() and name.strip() == name and name else repr(name)


def _manifest_image(folder: Path, path: str, faces: list[FoundFace]) -> FoundImage:
    image = FoundImage(path, faces)
    pts_path = (folder / path).with_suffix(".pts")
    if len(faces) == 1 and os.path.lexists(pts_path):  # 300-W crops: one face, <stem>.pts
        try:
            faces[0].annotation = read_pts(pts_path)
        except PtsError as exc:
            image.problem = _short(exc, pts_path)
    return image


def _annotated_image(folder: Path, path: str, annotations: AnnotationIndex) -> FoundImage:
    faces, errors = read_annotations(folder / path, annotations)
    return FoundImage(path, [FoundFace(tight_box(points), BoxSource.ANNOTATION, points, number)
                             for number, points in faces],
                      PROBLEM_SEPARATOR.join(_short(error, pts_path) for pts_path, error in errors))


def _short(error: PtsError, pts_path: Path) -> str:
    """The error naming the file, not its whole path."""
    return display_text(str(error).replace(str(pts_path), pts_path.name))
