"""Training and validation splits of face records: held out a whole source photo at a
time, and kept in a file (``resources/val_split.json``) so a model's validation faces stay
the same."""
from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable
from pathlib import Path

from .pts import atomic_write_text
from .records import DatasetError, FaceRecord


def split_records(records: list[FaceRecord], fraction: float, seed: int = 0,
                  minimum: int = 1) -> tuple[list[FaceRecord], list[FaceRecord]]:
    """Hold out ``fraction`` of each subset (at least ``minimum`` faces overall), seeded,
    a whole source photo at a time (:func:`source_photo`): no held-out face comes from a
    photo that a training face comes from (the same person, light and camera).

    A subset's share is filled with the photos that fit in it; the minimum takes the
    photos that fit first, then more than it needs if it must (every face, when there are
    too few).
    """
    rng = random.Random(seed)
    photos: dict[str, list[FaceRecord]] = {}
    for record in records:
        photos.setdefault(source_photo(record), []).append(record)
    by_subset: dict[str, list[str]] = {}
    for photo, faces in photos.items():
        by_subset.setdefault(faces[0].subset, []).append(photo)
    held: set[str] = set()
    count = 0

    def hold(order: list[str], target: int, fits_only: bool) -> None:
        nonlocal count
        for photo in order:
            size = len(photos[photo])
            if count < target and photo not in held and (count + size <= target or not fits_only):
                held.add(photo)
                count += size

    for subset in sorted(by_subset):
        order = sorted(by_subset[subset])
        rng.shuffle(order)
        hold(order, count + round(fraction * sum(len(photos[photo]) for photo in order)), fits_only=True)
    if count < minimum:
        rest = sorted(set(photos) - held)
        rng.shuffle(rest)
        hold(rest, minimum, fits_only=True)
        hold(rest, minimum, fits_only=False)
    return ([r for r in records if source_photo(r) not in held],
            [r for r in records if source_photo(r) in held])


# Face k of a photo cropped on its own is named <photo>_<k>.<ext> (300-W), k from 1 to 99
# without a leading zero: lfpw's image_0001 and a camera's IMG_1234 are photos of their own.
_CROP_OF_PHOTO = re.compile(r"(.+)_[1-9][0-9]?")


def source_photo(record: FaceRecord) -> str:
    """The photo a face comes from: its image's name (faces of one image share it), less
    the face number of a crop named ``<photo>_<k>``."""
    stem = os.path.splitext(record.name or str(record.image_path))[0]
    match = _CROP_OF_PHOTO.fullmatch(stem)
    return match.group(1) if match else stem


SPLIT_LISTS = ("validation", "excluded")


def save_split(path: str | os.PathLike, validation: list[FaceRecord], excluded: Iterable[FaceRecord] = ()) -> None:
    """Write a split file: ``{"validation": [keys held out], "excluded": [keys in neither
    side]}``, one key a line (see :func:`apply_split`)."""
    lists = {"validation": sorted(r.key for r in validation), "excluded": sorted(r.key for r in excluded)}
    atomic_write_text(Path(path), json.dumps(lists, indent=0, ensure_ascii=False) + "\n")


def apply_split(records: list[FaceRecord], split_file: str | os.PathLike) -> tuple[list[FaceRecord], list[FaceRecord]]:
    """(train, validation) by the face keys (``<image>#<face>``) of ``split_file``: its
    ``validation`` faces are held out, its ``excluded`` faces are in neither side (a
    file made before exclusions, a plain list of keys, holds out that list).

    Raises :class:`DatasetError` naming the keys the file lists that are not among
    ``records``: a split made for other data must not quietly train on the faces it
    meant to hold out.
    """
    validation, excluded = _read_split(Path(split_file))
    missing = sorted((validation | excluded) - {r.key for r in records})
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise DatasetError(f"{split_file}: {len(missing)} of the faces it lists "
                           f"{'is' if len(missing) == 1 else 'are'} not among the {len(records)} faces read "
                           f"(is it the split of this data?): {shown}")
    return ([r for r in records if r.key not in validation and r.key not in excluded],
            [r for r in records if r.key in validation])


def _read_split(path: Path) -> tuple[set[str], set[str]]:
    """(validation keys, excluded keys) of a split file."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable split file ({exc})") from None
    if isinstance(content, list):
        content = {"validation": content}
    if not isinstance(content, dict) or "validation" not in content or set(content) - set(SPLIT_LISTS):
        raise DatasetError(f'{path}: a split file is a list of face keys or {{"validation": [keys], '
                           f'"excluded": [keys]}}')
    lists = [content.get(name, []) for name in SPLIT_LISTS]
    if not all(isinstance(keys, list) and all(isinstance(key, str) for key in keys) for keys in lists):
        raise DatasetError(f'{path}: its face keys are not lists of text such as "afw/1051618982_1.jpg#1"')
    validation, excluded = set(lists[0]), set(lists[1])
    if both := sorted(validation & excluded):
        raise DatasetError(f"{path}: {both[0]} is both held out and excluded")
    return validation, excluded
