"""Accuracy and honesty of a UGLLI model beside dlib's 68-point predictor, each run as
its users run it, on the validation split (never trained on) shown two ways:

    python scripts/bench_accuracy.py [--model PATH] [--test-time plain no-framer no-prior flip recrop ...] [--seed 0] [--out figures.json]
    python scripts/bench_accuracy.py --limit 3 --no-dlib     # a quick look; runs without the bench extra

(a) crops: the 384×384 300-W crops as they are;
(b) photo-like: the same faces shrunk to 40–250 px and JPEG-compressed
    (:mod:`uglli_core.training.photo_like`).

Ours is given each kind of box the app feeds it: the 300-W box of the manifest, our
detector's box (faces it misses get the 300-W box, in a row of their own), the tight box
of the ``.pts`` points and a hand-drawn box (the tight box, edges jittered ±7 %).
dlib finds faces with its own HOG detector (dlib_baseline.py); where HOG misses a face
it gets the 300-W box drawn as HOG would, also in a row of its own. Ours runs as its
model file says (its test-time framer, recrop, flip and prior), and with each option that
``--test-time`` names (test_time.py).

Figures (:mod:`uglli_core.maths.metrics`): NME_io mean and median, NME_box, AUC@7 of NME_box,
failures (NME_io > 10 %); for ours also the per-image Pearson r of uncertainty against
error and the Mahalanobis-1 coverage (39.3 % is calibrated); and, face by face, on how
many faces ours is closer than dlib (with a sign test), each as its users run it. The main rows (ours: the
300-W box on crops, our detector's box on photo-like faces; dlib: its HOG box) are
broken down by subset, and on the photo-like set by face size.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dlib_baseline import DlibLandmarks  # noqa: E402
from test_time import TEST_TIME, load_predictors  # noqa: E402

from uglli_core import N_LANDMARKS, LandmarkPredictor, read_manifest  # noqa: E402
from uglli_core.detection.detect import FaceDetector  # noqa: E402
from uglli_core.files import json_text  # noqa: E402
from uglli_core.files.splits import apply_split  # noqa: E402
from uglli_core.maths.metrics import (CALIBRATED_COVERAGE, FACE_PARTS, OUTER_EYE_CORNERS,  # noqa: E402
                                      landmark_metrics, summary)
from uglli_core.training.photo_like import PhotoFace, build_set, crop_face, photo_like_face  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"
SIZE_BINS = (("< 80 px", 0, 80), ("80-150 px", 80, 150), ("> 150 px", 150, np.inf))  # 300-W box √(w·h)
BOX_KINDS = ("300-W box", "our detector", "tight box (.pts)", "hand-drawn box")
OURS_AS_USERS_RUN_IT = "our detector, else 300-W box"
DLIB_AS_USERS_RUN_IT = "its HOG, else 300-W box as HOG's"


@dataclass
class Points:
    """One program's points for every face of a set."""
    means: np.ndarray                   # (N, 68, 2); NaN where the program had no box
    covariances: np.ndarray | None      # (N, 68, 2, 2) for ours; None for dlib

    def where(self, mask: np.ndarray, other: "Points") -> "Points":
        """These points on the faces of the (N,) ``mask``, ``other``'s elsewhere."""
        means, covariances = other.means.copy(), other.covariances.copy()
        means[mask], covariances[mask] = self.means[mask], self.covariances[mask]
        return Points(means, covariances)


@dataclass
class Row:
    """A line of the tables: a program, the boxes it was given, the faces counted."""
    program: str
    boxes: str
    counted: str                        # which faces the row counts
    points: Points
    mask: np.ndarray                    # (N,) those faces

    def figures(self, truth: np.ndarray, group: np.ndarray | None = None) -> dict:
        """Scalar figures of the row's faces (within the (N,) ``group`` when given)."""
        mask = self.mask if group is None else self.mask & group
        if not mask.any():
            return {"faces": 0}
        covariances = None if self.points.covariances is None else self.points.covariances[mask]
        return summary(landmark_metrics(self.points.means[mask], covariances, truth[mask]))


def box_of(face: PhotoFace, kind: str):
    """The face's box of ``kind`` (one of BOX_KINDS); None: our detector missed it."""
    return {"300-W box": face.box, "our detector": face.detected_box,
            "tight box (.pts)": face.tight_box, "hand-drawn box": face.hand_drawn_box}[kind]


def predict_ours(predictor: LandmarkPredictor, faces: list[PhotoFace], kind: str) -> Points:
    """Each face predicted from its box of ``kind``; NaN where it has none."""
    means = np.full((len(faces), N_LANDMARKS, 2), np.nan)
    covariances = np.full((len(faces), N_LANDMARKS, 2, 2), np.nan)
    given = [i for i, face in enumerate(faces) if box_of(face, kind) is not None]
    predictions = predictor.predict_faces((faces[i].image, box_of(faces[i], kind)) for i in given)
    for i, prediction in zip(given, predictions):
        means[i], covariances[i] = prediction.landmarks, prediction.covariances
    return Points(means, covariances)


def ours_rows(label: str, predictor: LandmarkPredictor, faces: list[PhotoFace]) -> list[Row]:
    """A row for each kind of box the app feeds the model."""
    every = np.ones(len(faces), bool)
    found = np.array([face.detected_box is not None for face in faces])
    points = {kind: predict_ours(predictor, faces, kind) for kind in BOX_KINDS}
    return [Row(label, "300-W box", "all", points["300-W box"], every),
            Row(label, "our detector", "found by it", points["our detector"], found),
            Row(label, "300-W box", "detector missed", points["300-W box"], ~found),
            Row(label, OURS_AS_USERS_RUN_IT, "all", points["our detector"].where(found, points["300-W box"]), every),
            Row(label, "tight box (.pts)", "all", points["tight box (.pts)"], every),
            Row(label, "hand-drawn box", "all", points["hand-drawn box"], every)]


def dlib_rows(dlib_model: DlibLandmarks, faces: list[PhotoFace]) -> list[Row]:
    """dlib as users run it: every face, those HOG found, those it missed."""
    results = [dlib_model.as_users_run_it(face.image, face.box) for face in faces]
    points = Points(np.stack([p for p, _ in results]), None)          # (N, 68, 2)
    found = np.array([found for _, found in results])
    return [Row("dlib", DLIB_AS_USERS_RUN_IT, "all", points, np.ones(len(faces), bool)),
            Row("dlib", "its HOG detector", "found by it", points, found),
            Row("dlib", "300-W box as HOG's", "HOG missed", points, ~found)]


def groups(faces: list[PhotoFace], by_size: bool) -> dict[str, np.ndarray]:
    """(N,) masks of each subset, and of each face-size bin when ``by_size``."""
    subsets = np.array([face.subset.split("/")[0] for face in faces])
    masks = {name: subsets == name for name in sorted(set(subsets))}
    if by_size:
        sizes = np.array([face.size for face in faces])
        masks |= {name: (sizes >= low) & (sizes < high) for name, low, high in SIZE_BINS}
    return masks


def bench_set(name: str, faces: list[PhotoFace], predictors: dict, dlib_model: DlibLandmarks | None) -> dict:
    """Every row of one set, printed and returned as figures (dlib's when ``dlib_model``)."""
    truth = np.stack([face.points for face in faces])                       # (N, 68, 2)
    rows = [row for label, predictor in predictors.items() for row in ours_rows(label, predictor, faces)]
    rows += dlib_rows(dlib_model, faces) if dlib_model else []
    found_rows = [row for row in rows if row.counted == "found by it"]
    found_by_all = np.logical_and.reduce([row.mask for row in found_rows])
    rows += [Row(row.program, row.boxes, "found by all", row.points, found_by_all) for row in found_rows]
    table = [dict(program=r.program, boxes=r.boxes, counted=r.counted, **r.figures(truth)) for r in rows]
    sizes = [face.size for face in faces]
    print(f"\n({name}) {len(faces)} validation faces, 300-W box {min(sizes):.0f}-{max(sizes):.0f} px")
    print_rows(table)

    ours_main = "300-W box" if name == "crops" else OURS_AS_USERS_RUN_IT
    mains = [row for row in rows if row.counted == "all" and row.boxes in (ours_main, DLIB_AS_USERS_RUN_IT)]
    breakdown = [dict(group=group, program=r.program, boxes=r.boxes, **r.figures(truth, mask))
                 for group, mask in groups(faces, by_size=name != "crops").items() for r in mains]
    print()
    print_rows(breakdown)
    paired = [head_to_head(row, mains[-1], truth) for row in mains[:-1]] if dlib_model else []  # ours against dlib
    return {"faces": len(faces), "rows": table, "groups": breakdown, "head_to_head": paired}


def head_to_head(ours: Row, dlib: Row, truth: np.ndarray) -> dict:
    """Face by face, as each runs it: on how many faces ours is the closer of the two,
    with the two-sided sign test's p, and the median of the per-face differences; then
    the same for each part of the face (``parts``: its NME_io for either program)."""
    figures = {"program": ours.program, **closer_share(ours.points.means, dlib.points.means, truth), "parts": {}}
    print(f"{ours.program} against dlib, face by face: closer on {figures['closer_share']:.1f}% of "
          f"{figures['faces']} faces (sign test p = {figures['sign_test_p']:.2g}); median of the differences "
          f"in NME_io {figures['median_difference']:+.2f}. By part of the face:")
    for part, points in list(FACE_PARTS.items())[1:]:
        figures["parts"][part] = part_figures = closer_share(ours.points.means, dlib.points.means, truth, points)
        print(f"  {part:6} NME_io ours {part_figures['ours']:5.2f}, dlib {part_figures['dlib']:5.2f}; ours closer "
              f"on {part_figures['closer_share']:5.1f}% (p = {part_figures['sign_test_p']:.2g})")
    return figures


def closer_share(ours: np.ndarray, dlib: np.ndarray, truth: np.ndarray, points: slice = FACE_PARTS["all"]) -> dict:
    """Means (N, 68, 2) of either program: the mean error of ``points`` per face in % of the
    inter-ocular distance, on how many faces ours is closer, and the sign test's p."""
    interocular = np.linalg.norm(truth[:, OUTER_EYE_CORNERS[0]] - truth[:, OUTER_EYE_CORNERS[1]], axis=-1)
    mine, theirs = (100 * np.linalg.norm(means[:, points] - truth[:, points], axis=-1).mean(1) / interocular
                    for means in (ours, dlib))                                                   # (N,) each
    wins, n = int(np.sum(mine < theirs)), int(np.sum(mine != theirs))
    tail = sum(math.comb(n, k) for k in range(min(wins, n - wins) + 1)) / 2 ** n
    return {"faces": n, "ours": float(mine.mean()), "dlib": float(theirs.mean()), "closer_share": 100 * wins / n,
            "sign_test_p": min(1.0, 2 * tail), "median_difference": float(np.median(mine - theirs))}


LABELS = {"group": "faces", "program": "program", "boxes": "boxes", "counted": "faces counted"}
# (figure, title, width, decimals) of the printed tables
COLUMNS = (("faces", "n", 5, 0), ("nme_io", "NME_io", 8, 2), ("nme_io_median", "median", 8, 2),
           ("nme_box", "NME_box", 8, 2), ("auc7_box", "AUC@7", 7, 1), ("failure_rate", "fail%", 7, 1),
           ("pearson_image", "r img", 7, 2), ("coverage", "cover%", 7, 1))


def print_rows(table: list[dict]) -> None:
    """One line a row: what it is (the keys of LABELS it has), then its figures."""
    keys = [key for key in LABELS if key in table[0]]
    print(f"{' | '.join(LABELS[key] for key in keys):62}" + "".join(f"{t:>{w}}" for _, t, w, _ in COLUMNS))
    for row in table:
        cells = "".join(format_cell(row.get(key), width, decimals) for key, _, width, decimals in COLUMNS)
        print(f"{' | '.join(str(row[key]) for key in keys):62}" + cells)


def format_cell(value, width: int, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.{decimals}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--split", default=str(REPO / "resources" / "val_split.json"))
    parser.add_argument("--seed", type=int, default=0, help="of the photo-like sizes, JPEG qualities, hand-drawn boxes")
    parser.add_argument("--test-time", nargs="*", default=[], choices=sorted(TEST_TIME),
                        help="also run ours with these test-time options (default: only as the model file says)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", help="write every figure to this JSON file")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N validation faces")
    parser.add_argument("--no-dlib", action="store_true",
                        help="leave dlib out (its 68-point model comes with the bench extra)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    predictors = load_predictors(args.model, args.test_time)
    shipped_label, shipped = next(iter(predictors.items()))
    records = apply_split(read_manifest(MANIFEST), args.split)[1][:args.limit or None]
    detector, dlib_model = FaceDetector(), None if args.no_dlib else DlibLandmarks()
    print(f"model: {shipped.info.get('path')} as shipped: {shipped_label}, input {shipped.input_size} px, "
          f"{torch.get_num_threads()} threads; Mahalanobis-1 coverage {CALIBRATED_COVERAGE:.1f}% is calibrated")
    report = {"model": shipped.info, "as shipped": shipped_label, "seed": args.seed,
              "calibrated_coverage": CALIBRATED_COVERAGE, "sets": {}}
    for name, make_face in (("crops", crop_face), ("photo-like", photo_like_face)):
        faces = build_set(make_face, records, args.seed, detector)
        report["sets"][name] = bench_set(name, faces, predictors, dlib_model)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\n{report['seconds']:.0f} s")
    if args.out:
        Path(args.out).write_text(json_text.dumps(report, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
