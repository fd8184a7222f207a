"""Face records: an image, a face box and (when known) its 68 ground-truth points.

Sources: a 300-W style ``MANIFEST.csv`` (box = the ``det_*`` columns) or a plain
folder of images with same-stem ``.pts`` files (``<stem>.pts``, or ``<stem>_<k>.pts``
for face number k, numbers may have gaps; box = the tight box of the landmarks). A
folder holding a manifest gives its listed images their manifest boxes and the other
images their ``.pts`` faces: the app and every ``uglli`` command read a folder this way.
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..maths.geometry import Box
from .images import box_problem, image_size, is_image_file, list_image_files
from .pts import PtsError, from_file_frame, read_pts

MANIFEST_NAME = "MANIFEST.csv"
REQUIRED_MANIFEST_COLUMNS = ("path", "det_x0", "det_y0", "det_x1", "det_y1")
_NUMBERED_PTS = re.compile(r"(.+)_([1-9][0-9]*)\.pts")   # <stem>_<k>.pts, k without leading zeros


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
    detected_box: Box | None = None       # our detector's box, for training (training_boxes)
    occluded: np.ndarray | None = None    # (68,) bool: points placed by judgement, not seen; training
                                          # takes them as uncertain (training.samples.label_variance)
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}#{self.face}"


def tight_box(points: np.ndarray) -> Box:
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def read_manifest(path: str | os.PathLike, problems: list[str] | None = None,
                  points: bool = True, check_sizes: bool = True) -> list[FaceRecord]:
    """Records of a 300-W style manifest. Rows that cannot be used are skipped and
    described in ``problems`` when given, else raise :class:`DatasetError`.

    The faces of each image are numbered 1, 2, … in manifest order, and an image's
    ``<stem>.pts`` gives the points of its face when it has only one (see
    :func:`manifest_annotation_file`). A box (or landmarks) that cannot belong to its
    image, by the size its header gives, makes the row unusable. With ``points=False`` the
    ``.pts`` files are not read (a prediction needs only the boxes, so a broken ``.pts``
    should not stop it). With ``check_sizes=False`` no image is opened (an app listing
    50,000 faces checks each box when it reads that image instead).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise DatasetError(f"{path}: not a regular file")  # a FIFO would block the read forever
    try:
        # utf-8-sig: spreadsheets start CSVs with a BOM. surrogateescape: a path in another
        # encoding still names its file (on Linux), instead of failing the whole manifest.
        handle = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None

    def unusable(line: int, error: Exception) -> None:
        message = f"{path.name} line {line}: {error}"
        if problems is None:
            raise DatasetError(message) from None
        problems.append(message)

    sizes: dict[Path, tuple[int, int] | None] = {}
    rows: list[tuple[int, FaceRecord]] = []      # (line, record)
    with handle:
        reader = csv.DictReader(handle, skipinitialspace=True)  # "path, det_x0, ..." too
        try:
            missing = [c for c in REQUIRED_MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
            for row in reader:
                # line_num: the row's last line (a quoted field may span several)
                try:
                    rows.append((reader.line_num, _manifest_record(path.parent, row, sizes if check_sizes else None)))
                except DatasetError as exc:
                    unusable(reader.line_num, exc)
        except (csv.Error, OSError) as exc:
            raise DatasetError(f"{path}: not a readable CSV table (line {reader.line_num}: {exc})") from None
    faces = faces_by_image(record for _, record in rows)
    for image_faces in faces.values():
        for number, record in enumerate(image_faces, start=1):
            record.face = number
    records = []
    for line, record in rows:
        same_image = faces[normalised_name(record.name)]
        if points and (pts_path := manifest_annotation_file(record.image_path, len(same_image))):
            try:
                record.points = read_pts(pts_path, sizes.get(record.image_path))
            except PtsError as exc:
                unusable(line, exc)
                continue
        records.append(record)
    return records


def faces_by_image(records: Iterable[FaceRecord]) -> dict[str, list[FaceRecord]]:
    """Records by image, named as a folder walk names it (``./a.jpg`` and ``a.jpg`` are
    one image), in their order."""
    by_image: dict[str, list[FaceRecord]] = {}
    for record in records:
        by_image.setdefault(normalised_name(record.name), []).append(record)
    return by_image


def manifest_annotation_file(image: Path, faces: int) -> Path | None:
    """The ``.pts`` file that annotates an image a manifest lists with ``faces`` faces:
    ``<stem>.pts`` for a single face (a 300-W crop); none for several, which one file
    cannot annotate. The app and every ``uglli`` command attach annotations by this rule."""
    if faces != 1 or not image.name:   # "/" or "..": no file name to take a stem from
        return None
    pts_path = image.with_suffix(".pts")
    return pts_path if os.path.lexists(pts_path) else None   # a broken link is reported


def read_folder_manifest(folder: Path, images: Iterable[str], problems: list[str],
                         check_sizes: bool = True) -> dict[str, list[FaceRecord]]:
    """The faces that the ``MANIFEST.csv`` of ``folder``, if there is one, gives the
    folder's ``images`` (their relative names), by normalised name; boxes only (the app
    reads each image's annotation when it reads the image, ``uglli predict`` needs none).
    Unusable rows, a manifest that cannot be read at all and, once per name, why a row's
    image is not one of ``images`` (outside the folder, missing, hidden, …) are described
    in ``problems``: the app and ``uglli predict`` read a folder's manifest by this."""
    manifest = folder / MANIFEST_NAME
    if not os.path.lexists(manifest):  # a manifest that is a FIFO, a folder or a broken link is reported
        return {}
    try:
        faces = faces_by_image(read_manifest(manifest, problems, points=False, check_sizes=check_sizes))
    except DatasetError as exc:
        problems.append(str(exc))
        return {}
    images = set(images)
    problems += [_not_read(folder, name) for name in sorted(set(faces) - images)]
    return {name: image_faces for name, image_faces in faces.items() if name in images}


def _not_read(folder: Path, name: str) -> str:
    """Why the image a folder's manifest names is not read, as a problem to report."""
    return f"{MANIFEST_NAME} lists {_shown(name)}, which {_why_not_an_image(folder, name)}"


def _outside(name: str) -> bool:
    """Whether a manifest's relative image name leaves its folder."""
    return os.path.isabs(name) or normalised_name(name).split("/")[0] == ".."


def _why_not_an_image(folder: Path, name: str) -> str:
    """Why a name from the manifest is not among the folder's images (the end of a sentence)."""
    try:
        if _outside(name):
            return "is outside the folder: only images inside it are read"
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


def _manifest_record(root: Path, row: dict, sizes: dict[Path, tuple[int, int] | None] | None) -> FaceRecord:
    """One row; ``sizes`` caches image sizes from headers, None: do not check sizes."""
    try:
        box = tuple(float(row[k]) for k in ("det_x0", "det_y0", "det_x1", "det_y1"))
    except (TypeError, ValueError):
        raise DatasetError("box is not numeric") from None
    if not all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise DatasetError(f"box {box} is empty or not finite")
    box = tuple(float(v) for v in from_file_frame(box))   # 1-based in the file, as its .pts
    name = row["path"]
    if not name or not name.strip():
        raise DatasetError("no image path")
    image = root / name
    size = None
    if sizes is not None:
        if image not in sizes:
            sizes[image] = image_size(image)
        size = sizes[image]
    if size is not None and (problem := box_problem(box, size)):
        raise DatasetError(f"{name}: {problem}")
    return FaceRecord(image, box, name=name, subset=row.get("subset", "") or "",
                      meta={"split": row.get("split", "")})


def read_folder(folder: str | os.PathLike, problems: list[str] | None = None,
                skip: set[str] = frozenset()) -> list[FaceRecord]:
    """Annotated faces of a folder: images with ``<stem>.pts`` or ``<stem>_<k>.pts``, each
    face numbered as its file. Folders are walked as
    :func:`~uglli_core.files.images.list_image_files` does; images named (relative) in ``skip``
    are left out."""
    folder = Path(folder)
    index = AnnotationIndex()
    records = []
    for image in list_image_files(folder):
        name = str(image.relative_to(folder))
        if normalised_name(name) in skip:
            continue
        size = image_size(image) if index.files(image) else None
        faces, errors = read_annotations(image, index, size)
        if errors:
            if problems is None:
                raise DatasetError(str(errors[0][1]))
            problems += [str(error) for _, error in errors]
        records += [FaceRecord(image, tight_box(points), points, name=name, face=number, box_from_landmarks=True)
                    for number, points in faces]
    return records


class AnnotationIndex:
    """Which ``.pts`` files lie beside which images. Each folder is listed once, so that
    a folder of 50,000 photos is not listed 50,000 times."""

    def __init__(self):
        self._folders: dict[Path, tuple[set[str], dict[str, list[tuple[int, str]]]]] = {}

    def files(self, image: str | os.PathLike) -> list[tuple[int, Path]]:
        """(face number, file) of the image's annotations: ``<stem>.pts`` alone is face 1;
        else every ``<stem>_<k>.pts`` is face k, whatever numbers are missing, by k. A
        ``<stem>_<k>.pts`` that is named after another image of the folder is that image's."""
        image = Path(image)
        single_names, numbered = self._listing(image.parent)
        single = image.with_suffix(".pts")
        if single.name in single_names:
            return [(1, single)]
        return [(number, image.parent / name) for number, name in numbered.get(image.stem, [])]

    def _listing(self, folder: Path) -> tuple[set[str], dict[str, list[tuple[int, str]]]]:
        if folder not in self._folders:
            try:
                names = os.listdir(folder)  # broken links too: they are reported, not ignored
            except OSError:
                names = []
            image_stems = {os.path.splitext(name)[0] for name in names if is_image_file(name)}
            numbered: dict[str, list[tuple[int, str]]] = {}
            for name in names:
                match = _NUMBERED_PTS.fullmatch(name)
                if match and name[:-4] not in image_stems:
                    numbered.setdefault(match[1], []).append((int(match[2]), name))
            self._folders[folder] = ({name for name in names if name.endswith(".pts")},
                                     {stem: sorted(files) for stem, files in numbered.items()})
        return self._folders[folder]


def annotation_files(image: str | os.PathLike) -> list[tuple[int, Path]]:
    """(face number, file) of an image's ``.pts`` files; see :meth:`AnnotationIndex.files`."""
    return AnnotationIndex().files(image)


def read_annotations(image: Path, index: AnnotationIndex, size: tuple[int, int] | None = None
                     ) -> tuple[list[tuple[int, np.ndarray]], list[tuple[Path, PtsError]]]:
    """(face number, points) of every readable ``.pts`` file of ``image``, and (file,
    error) of the others (with ``size``, points that cannot belong to the image are errors)."""
    faces, errors = [], []
    for number, pts_path in index.files(image):
        try:
            faces.append((number, read_pts(pts_path, size)))
        except PtsError as exc:
            errors.append((pts_path, exc))
    return faces, errors


def normalised_name(name: str) -> str:
    """A relative image path as a folder walk writes it ("./a.jpg" → "a.jpg", '/'-separated)."""
    return os.path.normpath(name).replace(os.sep, "/") if name.strip() else name


def read_records(source: str | os.PathLike, problems: list[str] | None = None) -> list[FaceRecord]:
    """A manifest CSV, a folder of images + ``.pts``, or a folder holding ``MANIFEST.csv``:
    its rows, and the ``.pts`` faces of the images it does not list."""
    source = Path(source)
    if source.is_file():
        return read_manifest(source, problems)
    if (source / MANIFEST_NAME).is_file():
        # a folder is its own contents, as the app and `uglli predict` read it
        listed = read_manifest(source / MANIFEST_NAME, problems)
        records = [r for r in listed if not _outside(r.name)]
        for name in sorted({r.name for r in listed if _outside(r.name)}):
            if problems is None:
                raise DatasetError(f"{source}: {_not_read(source, name)}")
            problems.append(_not_read(source, name))
        return records + read_folder(source, problems, skip={normalised_name(r.name) for r in records})
    if source.is_dir():
        return read_folder(source, problems)
    raise DatasetError(f"{source}: no such file or folder")
