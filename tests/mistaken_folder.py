"""A small real folder with mistakes in its annotations, for the tests of the Disagreement
column and of ``uglli predict``'s ``disagreement`` (issue 19, part 4)."""
import shutil
from pathlib import Path

import numpy as np

from uglli_core import read_pts, write_pts
from uglli_core.maths.metrics import OUTER_EYE_CORNERS

FRAMES = 12     # the first frames of ytf-frames' faces.csv: annotated by another team


def _dragged(points, interocular):      # the right mouth corner, 20% of the inter-ocular distance away
    points[48] += 0.2 * interocular * np.array([0.6, -0.8])


def _eyes_swapped(points, interocular):
    points[36:48] = np.concatenate([points[42:48], points[36:42]])


def _shifted(points, interocular):      # the whole face, 15% of the inter-ocular distance
    points += 0.15 * interocular * np.array([0.8, 0.6])


def _jaw_backwards(points, interocular):
    points[0:17] = points[16::-1]


# frame (its place in faces.csv) → the mistake its annotation gets
MISTAKES = {0: _dragged, 4: _eyes_swapped, 7: _shifted, 10: _jaw_backwards}


def mistaken_folder(datasets: Path, folder: Path) -> set[str]:
    """Copy the first :data:`FRAMES` frames of ytf-frames into ``folder`` with their
    annotations beside them as ``<stem>.pts``, four of them with a mistake each (one of
    each kind) → the image names of those four."""
    source = datasets / "ytf-frames"
    folder.mkdir(parents=True, exist_ok=True)
    mistaken = set()
    for place, line in enumerate((source / "faces.csv").read_text().splitlines()[1:FRAMES + 1]):
        image, pts, _ = line.split(",")
        shutil.copy(source / image, folder)
        points = read_pts(source / pts)
        if place in MISTAKES:
            MISTAKES[place](points, np.linalg.norm(points[OUTER_EYE_CORNERS[1]] - points[OUTER_EYE_CORNERS[0]]))
            mistaken.add(Path(image).name)
        write_pts(folder / f"{Path(image).stem}.pts", points)
    return mistaken
