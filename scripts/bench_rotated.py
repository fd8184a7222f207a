"""Faces turned by a right angle in their photo: what the model makes of them, and what
test-time turns (``LandmarkPredictor(turns=True)``, ``uglli predict --turns``) buy and cost.

    python scripts/bench_rotated.py [--model PATH] [--faces 60] [--frames 120] [--threads 1]

Sets, all upright faces turned by what each row says:

* crops: ``--faces`` validation faces (resources/val_split.json) as their 300-W crops, with
  the 300-W box; turned 0/90/180/270° clockwise (the whole image with ``np.rot90``, the
  points and the box with it);
* photo-like: the same faces shrunk to 40–250 px and JPEG-compressed
  (:mod:`uglli_core.training.photo_like`), the 300-W box, turned the same way;
* tilted: the crops turned ±30° and ±45° about the face's centre (``cv2.warpAffine``), the
  tight box of the turned points: faces the model finds harder; at ±30° upright, at ±45° as
  near upright as turned (left out of the separation below; the 'right' turn counted is 0°);
* ytf-frames: ``--frames`` video frames annotated by another team (small, blurred), the tight
  box of their points: hard upright faces.

For each: NME_io (mean, %) with turns off and on; the share of faces whose network is unsure
enough to be tried turned (score above ``NOT_UPRIGHT``: only they pay for extra passes); how
often the turn kept is the true one; CPU ms per face off and on (the process's own time, one
thread by default, so that other work on a shared machine does not count). Then
how well the network's own uncertainty (mean |Σ|^¼ of its points before the shape prior, % of
their box) and the face score tell upright faces from turned ones: the highest upright and
lowest turned score, and the AUC (the chance that a turned face scores above an upright one).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_face_score import DEGRADATIONS, degraded  # noqa: E402

from uglli_core import FaceRecord, LandmarkPredictor, load_image, read_manifest, read_pts
from uglli_core.files.records import tight_box
from uglli_core.files.splits import apply_split
from uglli_core.inference.predict import NOT_UPRIGHT, point_scores
from uglli_core.maths.geometry import TURNS, transform_points
from uglli_core.maths.metrics import landmark_metrics
from uglli_core.training.photo_like import build_set, hand_drawn_box, photo_like_face

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
TILTS = (-45, -30, 30, 45)   # degrees clockwise
HALFWAY = 45                 # a face tilted this far is as near one right angle as the next


class GivenBoxes:
    """In place of the face detector for :func:`build_set`: the 300-W box is given."""

    def detect(self, image: np.ndarray) -> list:
        return []


def turned(image: np.ndarray, points: np.ndarray, box, turn: int):
    """(image, points, box) turned ``turn`` degrees clockwise, a quarter at a time."""
    points, box = np.asarray(points, float), np.asarray(box, float)
    for _ in range(turn // 90):   # a clockwise quarter of an image H high: (x, y) → (H − 1 − y, x)
        last_row = image.shape[0] - 1
        image = np.rot90(image, -1)
        points = np.stack([last_row - points[:, 1], points[:, 0]], axis=1)
        box = np.array([last_row - box[3], box[0], last_row - box[1], box[2]])
    return np.ascontiguousarray(image), points, tuple(box)


def tilted(image: np.ndarray, points: np.ndarray, degrees: float):
    """(image, points, tight box of the points) turned ``degrees`` clockwise about the face's centre."""
    centre = tuple(float(v) for v in points.mean(axis=0))
    matrix = cv2.getRotationMatrix2D(centre, -degrees, 1.0)      # OpenCV: positive is anticlockwise
    image = cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR)
    points = transform_points(np.vstack([matrix, [0, 0, 1]]), points)
    return image, points, tight_box(points)


def network_score(prediction) -> float:
    """Mean |Σ|^¼ of the network's own points (before the prior), % of their box."""
    return float(point_scores(*prediction.observed).mean())


def run(predictor: LandmarkPredictor, faces: list) -> tuple[list, float]:
    """Predictions of (image, box) faces and the CPU milliseconds per face."""
    start = time.process_time()
    predictions = predictor.predict_faces(faces)
    return predictions, 1000 * (time.process_time() - start) / max(len(faces), 1)


def nme(predictions: list, truth: list) -> float:
    return float(landmark_metrics(np.stack([p.landmarks for p in predictions]), None, np.stack(truth))["nme_io"])


def measure(name: str, cases: list, turn: int, plain: LandmarkPredictor, turning: LandmarkPredictor,
            scores: dict | None) -> None:
    """One row: ``cases`` (image, box, truth) turned by ``turn`` (0 for upright sets); their
    scores join ``scores`` (upright: False, turned: True) unless it is None."""
    faces, truth = [(image, box) for image, box, _ in cases], [points for *_, points in cases]
    before, ms_before = run(plain, faces)
    after, ms_after = run(turning, faces)
    network = [network_score(p) for p in before]
    if scores is not None:
        scores.setdefault(turn != 0, []).append((network, [p.uncertainty for p in before]))
    tried = np.mean([s > NOT_UPRIGHT for s in network])
    right = np.mean([p.turn == turn for p in after])
    print(f"{name:<22}{nme(before, truth):>9.2f}{nme(after, truth):>9.2f}{100 * tried:>8.1f}{100 * right:>8.1f}"
          f"{ms_before:>11.1f}{ms_after:>10.1f}")


def separation(scores: dict) -> None:
    """How well each score tells the upright faces (False) from the turned (True)."""
    print(f"\n{'score':<42}{'upright max':>12}{'turned min':>12}{'AUC':>8}")
    for k, label in enumerate(("network's own (before the prior)", "face score (FacePrediction.uncertainty)")):
        upright = np.concatenate([pair[k] for pair in scores[False]])
        turned_away = np.concatenate([pair[k] for pair in scores[True]])
        auc = (np.mean(turned_away[:, None] > upright[None, :])
               + 0.5 * np.mean(turned_away[:, None] == upright[None, :]))
        print(f"{label:<42}{upright.max():>12.2f}{turned_away.min():>12.2f}{auc:>8.4f}")
    print(f"NOT_UPRIGHT (the limit turns use): {NOT_UPRIGHT}")


def read_frames(folder: Path, count: int) -> list[FaceRecord]:
    """``count`` annotated frames of ytf-frames, spread over the whole list."""
    with open(folder / "faces.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    rows = rows[::max(1, len(rows) // max(count, 1))][:count]
    records = []
    for row in rows:
        points = read_pts(folder / row["pts"])
        records.append(FaceRecord(folder / row["image"], tight_box(points), points, name=row["image"]))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--faces", type=int, default=60, help="validation faces (default %(default)s)")
    parser.add_argument("--frames", type=int, default=120, help="ytf-frames (default %(default)s)")
    parser.add_argument("--split", default=str(REPO / "resources" / "val_split.json"))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    plain = LandmarkPredictor.load(args.model, turns=False)
    turning = LandmarkPredictor.load(args.model, turns=True)
    records = apply_split(read_manifest(DATASETS / "300w" / "MANIFEST.csv"), args.split)[1][:args.faces]
    crops = [(load_image(r.image_path), r.points, r.box) for r in records]
    photos = [(f.image, f.points, f.box) for f in build_set(photo_like_face, records, 0, GivenBoxes())]
    print(f"{len(records)} validation faces, {args.frames} ytf-frames; model: {Path(plain.info['path']).name}")
    print(f"{'set':<22}{'NME off':>9}{'NME on':>9}{'tried%':>8}{'right%':>8}{'cpu ms off':>11}{'cpu ms on':>10}")
    scores: dict = {}
    for label, faces in (("crops", crops), ("photo-like", photos)):
        for turn in TURNS:
            cases = [(image, box, points) for image, points, box in (turned(*face, turn) for face in faces)]
            measure(f"{label} {turn}°", cases, turn, plain, turning, scores)
    for degrees in TILTS:
        cases = [(image, box, points) for image, points, box in (tilted(image, points, degrees)
                                                                 for image, points, _ in crops)]
        measure(f"crops tilted {degrees:+d}°", cases, 0, plain, turning, None if abs(degrees) >= HALFWAY else scores)
    for kind in (kind for kind in DEGRADATIONS if kind != "turned"):   # upright but hard: none should turn
        rng = np.random.default_rng(0)
        cases = [(image, hand_drawn_box(tight_box(points), rng), points)
                 for image, points in (degraded(kind, image, points, rng) for image, points, _ in crops)]
        measure(f"crops {kind}", cases, 0, plain, turning, None)
    frames = read_frames(DATASETS / "ytf-frames", args.frames)
    measure("ytf-frames", [(load_image(r.image_path), r.box, r.points) for r in frames], 0, plain, turning, scores)
    separation(scores)


if __name__ == "__main__":
    main()
