"""Which faces of which images ``uglli predict`` predicts: the rows of a manifest, or
images and folders read as the app reads a folder (a ``MANIFEST.csv`` in the folder,
else the ``.pts`` files beside each image, else the face detector).

A job is ``(name, path, faces)``: ``faces`` is [(face number, box)], or None when the
detector is to find them.
"""
from __future__ import annotations

import os
from pathlib import Path

from .data import (MANIFEST_NAME, AnnotationIndex, DatasetError, FaceRecord, normalised_name, read_annotations,
                   read_manifest, tight_box)
from .images import list_image_files


def manifest_jobs(manifest: str | Path):
    """[(name, path, [(face number, box)])] grouped by image, in manifest order; bad rows as errors."""
    problems: list[str] = []
    records: list[FaceRecord] = read_manifest(manifest, problems, points=False)
    by_image: dict[str, tuple[Path, list]] = {}
    for record in records:
        faces = by_image.setdefault(record.name, (record.image_path, []))[1]
        faces.append((len(faces) + 1, record.box))
    errors = [{"image": str(manifest), "error": problem} for problem in problems]
    if not records and not problems:
        errors.append({"image": str(manifest), "error": "lists no faces"})
    return [(name, path, faces) for name, (path, faces) in by_image.items()], errors


def input_jobs(inputs: list[str], detect: bool = False):
    """[(name, path, faces)]: image files as given, folders walked as
    :func:`~uglli_core.images.list_image_files` does (links to folders not followed).
    ``faces`` are [(face number, box)] as the app reads a folder: the rows of a
    ``MANIFEST.csv`` in the folder given, else the ``.pts`` files beside the image; None
    (the detector finds them) when there are none, or always with ``detect``."""
    jobs, errors = [], []
    annotations = AnnotationIndex()
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            listed = {} if detect else _folder_manifest_faces(path, errors)
            for full in list_image_files(path):
                name = str(full.relative_to(path))
                known = listed.get(normalised_name(name))
                if known is None and not detect:
                    known = _annotated_faces(full, name, annotations, errors)
                jobs.append((name, full, known))
        elif os.path.lexists(path):  # a broken link is reported by load_image
            jobs.append((given, path, None if detect else _annotated_faces(path, given, annotations, errors)))
        else:
            errors.append({"image": given, "error": "no such file or folder"})
    return jobs, errors


def _folder_manifest_faces(folder: Path, errors: list) -> dict[str, list]:
    """The faces a ``MANIFEST.csv`` in ``folder`` gives, by normalised image name."""
    manifest = folder / MANIFEST_NAME
    if not os.path.lexists(manifest):
        return {}
    try:
        jobs, problems = manifest_jobs(manifest)
    except DatasetError as exc:
        jobs, problems = [], [{"image": str(manifest), "error": str(exc)}]
    errors += problems
    return {normalised_name(name): faces for name, _, faces in jobs}


def _annotated_faces(image: Path, name: str, annotations: AnnotationIndex, errors: list) -> list | None:
    """[(face number, landmark box)] of the image's readable ``.pts`` files; None when none."""
    faces, problems = read_annotations(image, annotations)
    errors += [{"image": name, "error": str(problem)} for _, problem in problems]
    return [(number, tight_box(points)) for number, points in faces] or None
