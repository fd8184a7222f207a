"""What a folder holds: its images and the face boxes and annotations that come with them.

A 300-W ``MANIFEST.csv`` gives each listed crop its detector box; otherwise
``<stem>.pts`` / ``<stem>_<k>.pts`` files give faces boxed by their landmarks, each
numbered as its file (as :func:`uglli_core.read_records` reads a folder for ``uglli
evaluate`` and ``train``); images with neither are left for the face detector.

Opening a folder of tens of thousands of images must stay quick, so no image file
is opened here: whether a box or an annotation fits its image is checked when the
image is read for prediction (:mod:`app.workers.prediction`), with the same rule
(:func:`uglli_core.files.images.box_problem`) that ``uglli predict`` applies.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from uglli_core import AnnotationIndex, PtsError, read_annotations, read_pts
from uglli_core.files.images import list_image_files
from uglli_core.files.records import manifest_annotation_file, read_folder_manifest, tight_box
from uglli_core.maths.geometry import Box

from .faces import PROBLEM_SEPARATOR, BoxSource, display_text

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
    :func:`uglli_core.files.images.list_image_files` walks it (hidden entries skipped, links to
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


def scan_folder(folder: Path, present: list[str], known: set[str] = frozenset(),
                progress: Progress | None = None) -> FolderScan:
    """The images under ``folder``, ``present`` as :func:`list_images` lists them; those not
    in ``known`` are read with their faces. ``progress`` is told now and then how many of
    the new images have been read."""
    folder = Path(folder)
    new_paths = [p for p in present if p not in known]
    problems: list[str] = []
    listed = _manifest_faces(folder, present, problems) if new_paths else {}
    annotations = AnnotationIndex()
    images = []
    for done, path in enumerate(new_paths):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(new_paths))
        images.append(_manifest_image(folder, path, listed[path]) if path in listed
                      else _annotated_image(folder, path, annotations))
    if progress is not None:
        progress(len(new_paths), len(new_paths))
    return FolderScan(present, images, [display_text(problem) for problem in problems])


def _manifest_faces(folder: Path, images: list[str], problems: list[str]) -> dict[str, list[FoundFace]]:
    """The boxes the folder's manifest gives its images, without opening them (each box is
    checked when its image is read); the .pts files are read per image, so that a broken
    one costs its image the annotation, not the box."""
    return {name: [FoundFace(record.box, BoxSource.MANIFEST, number=record.face) for record in records]
            for name, records in read_folder_manifest(folder, images, problems, check_sizes=False).items()}


def _manifest_image(folder: Path, path: str, faces: list[FoundFace]) -> FoundImage:
    image = FoundImage(path, faces)
    if pts_path := manifest_annotation_file(folder / path, len(faces)):
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
