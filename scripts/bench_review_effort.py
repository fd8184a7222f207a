"""How many drags a reviewer needs per face, with and without propagation (issue 13).

    python scripts/bench_review_effort.py [--model PATH] [--set val|photo-like|both] [--seed 0] [--limit N]

A simulated reviewer looks at each face of the validation split and drags the point
farthest from the ground truth to the ground truth plus placement noise (1 % of the
inter-ocular distance, per coordinate), until every point lies within τ × inter-ocular
distance of the truth. Plain dragging moves only that point; with propagation every
drag is followed by ``LandmarkPredictor.refine`` of the network's own Gaussians with all
points placed so far, as in the app. Both start from the model's prediction as the app
shows it (fused with the shape prior already when the model file says so).

Sets: ``val``, the 300-W crops with the manifest's 300-W boxes; ``photo-like``, the same
faces shrunk to 40-250 px and JPEG-compressed (:mod:`uglli_core.training.photo_like`), with our
detector's box (the 300-W box where it misses the face).

Prints, per set: drags per face at τ = 0.03/0.04/0.06, how many fewer with propagation,
the share of faces that needed more drags with it than with plain dragging; NME_io after
0/1/3/5 worst-first drags (0 drags with propagation: ``refine`` with nothing fixed, which
is what a model that fuses its prior at prediction time shows);
milliseconds per ``refine`` call.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from uglli_core import FacePrediction, LandmarkPredictor, load_image, read_manifest
from uglli_core.files.splits import apply_split
from uglli_core.maths.metrics import OUTER_EYE_CORNERS

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"
TOLERANCES = (0.03, 0.04, 0.06)       # × inter-ocular distance
NME_AFTER = (0, 1, 3, 5)              # drags
PLACEMENT_NOISE = 0.01                # × inter-ocular distance, standard deviation per coordinate
MAX_DRAGS = 2 * 68                    # a face that needs more is counted at this


class Reviewer:
    """Drags the worst point first; times every ``refine``."""

    def __init__(self, predictor: LandmarkPredictor, seed: int):
        self.predictor, self.seed = predictor, seed
        self.refine_seconds: list[float] = []

    def review(self, face: int, prediction: FacePrediction, truth, propagate: bool, tolerance: float | None,
               max_drags: int) -> list[float]:
        """NME_io (%) of the face's points after 0, 1, 2, … drags, until every point is
        within ``tolerance`` × inter-ocular distance (None: go on) or ``max_drags``."""
        rng = np.random.default_rng([self.seed, face])
        interocular = np.linalg.norm(truth[OUTER_EYE_CORNERS[0]] - truth[OUTER_EYE_CORNERS[1]])
        points, fixed = prediction.landmarks.copy(), {}
        nme = [100 * np.linalg.norm(points - truth, axis=1).mean() / interocular]
        while len(nme) <= max_drags:
            errors = np.linalg.norm(points - truth, axis=1)
            worst = int(np.argmax(errors))
            if tolerance is not None and errors[worst] <= tolerance * interocular:
                break
            fixed[worst] = tuple(truth[worst] + rng.normal(0, PLACEMENT_NOISE * interocular, 2))
            if propagate:
                points = self.refine(prediction, fixed)
            else:
                points[worst] = fixed[worst]
            nme.append(100 * np.linalg.norm(points - truth, axis=1).mean() / interocular)
        return nme

    def refine(self, prediction: FacePrediction, fixed) -> np.ndarray:
        started = time.perf_counter()
        points, _ = self.predictor.refine(*prediction.observed, fixed)
        self.refine_seconds.append(time.perf_counter() - started)
        return points


def val_faces(predictor: LandmarkPredictor, records) -> tuple[list[FacePrediction], np.ndarray, str]:
    """(predictions, truth (N, 68, 2), which boxes)."""
    predictions = predictor.predict_faces((load_image(r.image_path), r.box) for r in records)
    return predictions, np.stack([r.points for r in records]), "300-W manifest boxes"


def photo_like_faces(predictor: LandmarkPredictor, records, seed: int):
    from uglli_core.training.photo_like import build_set, photo_like_face

    faces = build_set(photo_like_face, records, seed)
    missed = sum(face.detected_box is None for face in faces)
    boxes = [face.detected_box or face.box for face in faces]
    predictions = predictor.predict_faces((face.image, box) for face, box in zip(faces, boxes))
    return (predictions, np.stack([face.points for face in faces]),
            f"our detector's boxes, the 300-W box for the {missed} it missed")


def bench_set(reviewer: Reviewer, predictions: list[FacePrediction], truth) -> None:
    faces = range(len(truth))
    print(f"\nDrags per face until every point is within τ × inter-ocular distance (worst point first, "
          f"{PLACEMENT_NOISE:.0%} placement noise)")
    print(f"{'τ':>6}{'plain':>9}{'propagation':>13}{'fewer':>8}{'faces needing more':>20}")
    for tolerance in TOLERANCES:
        plain = np.array([len(reviewer.review(k, predictions[k], truth[k], False, tolerance,
                                              MAX_DRAGS)) - 1 for k in faces])
        fused = np.array([len(reviewer.review(k, predictions[k], truth[k], True, tolerance,
                                              MAX_DRAGS)) - 1 for k in faces])
        print(f"{tolerance:>6.2f}{plain.mean():>9.1f}{fused.mean():>13.1f}{1 - fused.mean() / plain.mean():>8.0%}"
              f"{(fused > plain).mean():>20.1%}")

    print("\nNME_io (%) after k drags, worst point first")
    print(f"{'k':>6}{'plain':>9}{'propagation':>13}")
    last = max(NME_AFTER)
    plain = np.array([reviewer.review(k, predictions[k], truth[k], False, None, last) for k in faces])
    fused = np.array([reviewer.review(k, predictions[k], truth[k], True, None, last) for k in faces])
    nothing_fixed = np.array([reviewer.refine(predictions[k], {}) for k in faces])
    interocular = np.linalg.norm(truth[:, OUTER_EYE_CORNERS[0]] - truth[:, OUTER_EYE_CORNERS[1]], axis=1)
    fused[:, 0] = 100 * np.linalg.norm(nothing_fixed - truth, axis=2).mean(axis=1) / interocular
    for k in NME_AFTER:
        note = "   (refine with nothing fixed)" if k == 0 else ""
        print(f"{k:>6}{plain[:, k].mean():>9.2f}{fused[:, k].mean():>13.2f}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--set", choices=("val", "photo-like", "both"), default="both")
    parser.add_argument("--split", default=str(REPO / "resources" / "val_split.json"))
    parser.add_argument("--seed", type=int, default=0, help="of the placement noise and the photo-like set")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the predictions")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N validation faces")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    predictor = LandmarkPredictor.load(args.model, "cpu")
    records = apply_split(read_manifest(MANIFEST), args.split)[1][:args.limit or None]
    sets = ("val", "photo-like") if args.set == "both" else (args.set,)
    for name in sets:
        reviewer = Reviewer(predictor, args.seed)
        if name == "val":
            predictions, truth, boxes = val_faces(predictor, records)
        else:
            predictions, truth, boxes = photo_like_faces(predictor, records, args.seed)
        print(f"\n=== {name}: {len(truth)} validation faces, {boxes}; model {predictor.info.get('path')}")
        bench_set(reviewer, predictions, truth)
        ms = 1000 * np.array(reviewer.refine_seconds)
        print(f"\nms per update (refine, one BLAS thread): mean {ms.mean():.2f}, median {np.median(ms):.2f}, "
              f"95th percentile {np.percentile(ms, 95):.2f}, max {ms.max():.2f} over {len(ms)} updates")


if __name__ == "__main__":
    main()
