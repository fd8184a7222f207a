"""Which faces of which images ``uglli predict`` predicts: the rows of a manifest, or
images and folders read as the app reads a folder (a ``MANIFEST.csv`` in the folder,
else the ``.pts`` files beside each image, else the face detector).

A job is ``(name, path, faces)``: ``faces`` is [(face number, box, annotation)], or None
when the detector is to find them; ``annotation`` is the face's (68, 2) points from its
``.pts`` file, None when it has none.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..files.images import list_image_files
from ..files.pts import PtsError, read_pts
from ..files.records import (MANIFEST_NAME, AnnotationIndex, FaceRecord, faces_by_image, manifest_annotation_file,
                             normalised_name, read_annotations, read_folder_manifest, read_manifest, tight_box)


def manifest_jobs(manifest: str | Path):
    """[(name, path, [(face number, box, annotation)])] grouped by image, in manifest order;
    bad rows as errors."""
    problems: list[str] = []
    by_image = faces_by_image(read_manifest(manifest, problems, points=False))
    errors = [{"image": str(manifest), "error": problem} for problem in problems]
    if not by_image and not problems:
        errors.append({"image": str(manifest), "error": "lists no faces"})
    jobs = [(faces[0].name, faces[0].image_path, _manifest_faces(faces, errors)) for faces in by_image.values()]
    return jobs, errors


def input_jobs(inputs: list[str], detect: bool = False):
    """[(name, path, faces)]: image files as given, folders walked as
    :func:`~uglli_core.files.images.list_image_files` does (links to folders not followed).
    ``faces`` are [(face number, box, annotation)] as the app reads a folder: the rows of a
    ``MANIFEST.csv`` in the folder given, else the ``.pts`` files beside the image; None
    (the detector finds them) when there are none, or always with ``detect``."""
    jobs, errors = [], []
    annotations = AnnotationIndex()
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            images = {normalised_name(str(full.relative_to(path))): full for full in list_image_files(path)}
            listed = {} if detect else _folder_manifest_faces(path, images, errors)
            for name, full in images.items():
                known = listed.get(name)
                if known is None and not detect:
                    known = _annotated_faces(full, name, annotations, errors)
                jobs.append((name, full, known))
        elif os.path.lexists(path):  # a broken link is reported by load_image
            jobs.append((given, path, None if detect else _annotated_faces(path, given, annotations, errors)))
        else:
            errors.append({"image": given, "error": "no such file or folder"})
    return jobs, errors


def _folder_manifest_faces(folder: Path, images: Iterable[str], errors: list) -> dict[str, list]:
    """The faces a ``MANIFEST.csv`` in ``folder`` gives its ``images``, by normalised name;
    a row naming anything else (an image outside the folder, …) is an error, as in the app."""
    problems: list[str] = []
    listed = read_folder_manifest(folder, images, problems)
    errors += [{"image": str(folder / MANIFEST_NAME), "error": problem} for problem in problems]
    return {name: _manifest_faces(faces, errors) for name, faces in listed.items()}


def _manifest_faces(faces: list[FaceRecord], errors: list) -> list:
    """[(face number, box, annotation)] of an image's manifest faces; the annotation, of an
    image with one face, is its ``<stem>.pts`` (as the app reads it: one that cannot be read
    is an error and costs the face its annotation, not its box)."""
    annotation = None
    if pts_path := manifest_annotation_file(faces[0].image_path, len(faces)):
        try:
            annotation = read_pts(pts_path)
        except PtsError as exc:
            errors.append({"image": faces[0].name, "error": str(exc)})
    return [(face.face, face.box, annotation) for face in faces]


def _annotated_faces(image: Path, name: str, annotations: AnnotationIndex, errors: list) -> list | None:
    """[(face number, landmark box, points)] of the image's readable ``.pts`` files; None when none."""
    faces, problems = read_annotations(image, annotations)
    errors += [{"image": name, "error": str(problem)} for _, problem in problems]
    return [(number, tight_box(points), points) for number, points in faces] or None
