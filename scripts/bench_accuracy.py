"""Accuracy of a UGLLI model beside dlib's 68-point predictor, on the same faces and boxes.

    python scripts/bench_accuracy.py [--model PATH] [--split resources/val_split.json]

Both start from the 300-W detector box of each face of the validation split (never
trained on). Prints NME_io, NME_box, AUC@7, failure rate, and UGLLI's uncertainty
figures (Pearson r per image and per landmark, Mahalanobis-1 coverage).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dlib_baseline import DlibLandmarks  # noqa: E402

from uglli_core import LandmarkPredictor, load_image, read_manifest  # noqa: E402
from uglli_core.data import apply_split  # noqa: E402
from uglli_core.detect import HOG_CALIBRATION  # noqa: E402
from uglli_core.evaluate import evaluate  # noqa: E402
from uglli_core.metrics import CALIBRATED_COVERAGE, landmark_metrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"


def hog_style(box):
    """A 300-W box as dlib's HOG detector would have drawn it (frontal view)."""
    x0, y0, x1, y1 = box
    w, h = (x1 - x0) / HOG_CALIBRATION.scale_x, (y1 - y0) / HOG_CALIBRATION.scale_y
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - HOG_CALIBRATION.shift_y * h
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--split", default=str(REPO / "resources" / "val_split.json"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    faces = apply_split(read_manifest(MANIFEST), args.split)[1]
    print(f"{len(faces)} validation faces, boxes from the 300-W detector")
    started = time.perf_counter()
    ours = evaluate(LandmarkPredictor.load(args.model, "cpu"), faces)
    ours_seconds = time.perf_counter() - started  # image loading included

    dlib_model = DlibLandmarks()
    truth = np.stack([f.points for f in faces])
    images = [load_image(f.image_path) for f in faces]
    started = time.perf_counter()
    points = np.stack([dlib_model.landmarks(image, f.box) for image, f in zip(images, faces)])
    dlib_seconds = time.perf_counter() - started
    theirs = landmark_metrics(points, None, truth)
    # dlib's predictor was trained on its own HOG detector's boxes: also give it the
    # 300-W box mapped back to that convention (the inverse of our HOG calibration).
    points = np.stack([dlib_model.landmarks(image, hog_style(f.box)) for image, f in zip(images, faces)])
    theirs_own_boxes = landmark_metrics(points, None, truth)

    print(f"\n{'':24}{'UGLLI (ours)':>14}{'dlib 68-point':>16}{'dlib, HOG-style box':>21}")
    for key, label in [("nme_io", "NME inter-ocular (%)"), ("nme_box", "NME box (%)"),
                       ("auc7_box", "AUC@7 box (%)"), ("failure_rate", "failures NME_io>10 (%)")]:
        print(f"{label:24}{ours[key]:>14.2f}{theirs[key]:>16.2f}{theirs_own_boxes[key]:>21.2f}")
    print(f"{'seconds':24}{ours_seconds:>14.1f}{dlib_seconds:>16.1f}")
    print("\nUGLLI uncertainty:")
    print(f"  Pearson r, per image     {ours['pearson_image']:.3f}   (target >= 0.5)")
    print(f"  Pearson r, per landmark  {ours['pearson_landmark']:.3f}   (target >= 0.35)")
    print(f"  Mahalanobis-1 coverage   {ours['coverage']:.1f}%  (calibrated: {CALIBRATED_COVERAGE:.1f}%)")


if __name__ == "__main__":
    main()
