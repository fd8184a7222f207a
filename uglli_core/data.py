"""Face records: an image, a face box and (when known) its 68 ground-truth points.

Sources: a 300-W style ``MANIFEST.csv`` (box = the ``det_*`` columns) or a plain
folder of images with same-stem ``.pts`` files (``<stem>.pts`` or ``<stem>_<k>.pts``
for several faces; box = the tight box of the landmarks).
"""
from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .geometry import Box
from .images import is_image_file
from .pts import PtsError, read_pts

MANIFEST_NAME = "MANIFEST.csv"
REQUIRED_MANIFEST_COLUMNS = ("path", "det_x0", "det_y0", "det_x1", "det_y1")


class DatasetError(ValueError):
    """A data source that cannot be used; the message says why."""


@dataclass
class FaceRecord:
    image_path: Path
    box: Box
    points: np.ndarray | None = None      # (68, 2) image pixels, or None when unknown
    name: str = ""                        # how the image is named in outputs (relative path)
    face: int = 1                         # 1-based index of the face in its image
    subset: str = ""
    box_from_landmarks: bool = False      # tight landmark box: jitter it in training
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}#{self.face}"


def tight_box(points: np.ndarray) -> Box:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def read_manifest(path: str | os.PathLike, problems: list[str] | None = None) -> list[FaceRecord]:
    """Records of a 300-W style manifest. Rows that cannot be used are skipped and
    described in ``problems`` when given, else raise :class:`DatasetError`."""
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
        records = []
        for line, row in enumerate(reader, start=2):
            try:
                records.append(_manifest_record(path.parent, row))
            except (DatasetError, PtsError) as exc:
                message = f"{path.name} line {line}: {exc}"
                if problems is None:
                    raise DatasetError(message) from None
                problems.append(message)
    return records


def _manifest_record(root: Path, row: dict) -> FaceRecord:
    try:
        box = tuple(float(row[k]) for k in ("det_x0", "det_y0", "det_x1", "det_y1"))
    except (TypeError, ValueError):
        raise DatasetError("box is not numeric") from None
    if not all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise DatasetError(f"box {box} is empty or not finite")
    image = root / row["path"]
    pts_path = image.with_suffix(".pts")
    points = read_pts(pts_path) if pts_path.exists() else None
    return FaceRecord(image, box, points, name=row["path"], subset=row.get("subset", "") or "",
                      meta={"split": row.get("split", "")})


def read_folder(folder: str | os.PathLike, problems: list[str] | None = None) -> list[FaceRecord]:
    """Annotated faces of a folder: images with ``<stem>.pts`` or ``<stem>_<k>.pts``."""
    folder = Path(folder)
    records = []
    for image in sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p)):
        for face, pts_path in enumerate(annotation_files(image), start=1):
            try:
                points = read_pts(pts_path)
            except PtsError as exc:
                if problems is None:
                    raise DatasetError(str(exc)) from None
                problems.append(str(exc))
                continue
            records.append(FaceRecord(image, tight_box(points), points, name=str(image.relative_to(folder)),
                                      face=face, box_from_landmarks=True))
    return records


def annotation_files(image: Path) -> list[Path]:
    """``<stem>.pts`` alone, else ``<stem>_1.pts``, ``<stem>_2.pts`` … in order."""
    single = image.with_suffix(".pts")
    if single.exists():
        return [single]
    numbered = []
    k = 1
    while (candidate := image.with_name(f"{image.stem}_{k}.pts")).exists():
        numbered.append(candidate)
        k += 1
    return numbered


def read_records(source: str | os.PathLike, problems: list[str] | None = None) -> list[FaceRecord]:
    """A manifest CSV, a folder holding ``MANIFEST.csv``, or a folder of images + ``.pts``."""
    source = Path(source)
    if source.is_file():
        return read_manifest(source, problems)
    if (source / MANIFEST_NAME).is_file():
        return read_manifest(source / MANIFEST_NAME, problems)
    if source.is_dir():
        return read_folder(source, problems)
    raise DatasetError(f"{source}: no such file or folder")


def split_records(records: list[FaceRecord], fraction: float, seed: int = 0,
                  minimum: int = 1) -> tuple[list[FaceRecord], list[FaceRecord]]:
    """Hold out ``fraction`` of each subset (at least ``minimum`` faces overall), seeded."""
    rng = random.Random(seed)
    by_subset: dict[str, list[FaceRecord]] = {}
    for record in records:
        by_subset.setdefault(record.subset, []).append(record)
    held = set()
    for subset in sorted(by_subset):
        group = sorted(by_subset[subset], key=lambda r: r.key)
        rng.shuffle(group)
        held.update(r.key for r in group[:round(fraction * len(group))])
    if len(held) < minimum:
        rest = sorted((r for r in records if r.key not in held), key=lambda r: r.key)
        rng.shuffle(rest)
        held.update(r.key for r in rest[:minimum - len(held)])
    return [r for r in records if r.key not in held], [r for r in records if r.key in held]


def save_split(path: str | os.PathLike, validation: list[FaceRecord]) -> None:
    Path(path).write_text(json.dumps(sorted(r.key for r in validation), indent=0) + "\n")


def apply_split(records: list[FaceRecord], split_file: str | os.PathLike) -> tuple[list[FaceRecord], list[FaceRecord]]:
    """(train, validation) by the face keys listed in ``split_file``."""
    held = set(json.loads(Path(split_file).read_text()))
    return [r for r in records if r.key not in held], [r for r in records if r.key in held]
