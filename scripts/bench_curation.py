"""A curator's loop on a folder of their own (issue 19), simulated on ytf-frames.

    python scripts/bench_curation.py [--model PATH] [--pool 300] [--reviewed 100] [--test 300]
    python scripts/bench_curation.py --pool 12 --reviewed 8 --test 6 --epochs 1   # a smoke run

ytf-frames (``shared/datasets/ytf-frames``: video frames annotated by another team, with
conventions of its own) is split by person: ``--test`` frames of some people are "the
rest" and are measured; ``--pool`` frames of other people are the ones the curator works
through. The curator

1. predicts every frame with the model (boxes: the annotation's tight box, as a folder of
   ``.pts`` files gives them; the model file's framer frames the face from there);
2. reviews the ``--reviewed`` pool frames the model is least sure of (highest face score,
   as the app's list sorts them; ``--pick random``: frames drawn at random): their
   annotation plays the corrections;
3. calibrates the model to them (``uglli calibrate``'s code, whole photos held out);
4. fine-tunes the model on them instead (``uglli fine-tune``'s code: the menu's);
and after each step the rest are predicted again by the model as it then is.

Printed per step, on the rest: NME_io (%), Mahalanobis-1 coverage (%, 39.3 is calibrated),
per-image Pearson r of uncertainty (the mean |Σ|^¼ of the points shown) with error, and of
the face score (what the app ranks faces by) with NME_io, failures caught (the share of
faces with NME_io > 10% among the 30% with the highest face score) and the error mass the
top 30% hold against an oracle's top 30% (``bench_face_score.ranking_figures``); then the drags per face a reviewer needs on the rest
(worst point first, until every point is within 4% of the inter-ocular distance; see
``bench_review_effort.py``) with plain dragging and with propagation, beside dlib's
68-point predictor run as users run it (its own HOG detector) with plain dragging.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_calibrate import DATASETS, people_split, read_frames  # noqa: E402
from bench_face_score import ranking_figures  # noqa: E402
from bench_review_effort import MAX_DRAGS, Reviewer  # noqa: E402

from uglli_core import LandmarkPredictor, fine_tune, load_checkpoint, load_image  # noqa: E402
from uglli_core.files.records import FaceRecord  # noqa: E402
from uglli_core.maths.metrics import FAILURE_NME_IO, landmark_metrics  # noqa: E402
from uglli_core.prior.folder_calibration import FIELD as CALIBRATION_FIELD  # noqa: E402
from uglli_core.tuning.folder_calibration import learn_folder_calibration  # noqa: E402

TOLERANCE = 0.04          # × inter-ocular distance: a point within it needs no drag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="starting model (default: the bundled one)")
    parser.add_argument("--frames", default=str(DATASETS / "ytf-frames"), help="ytf-frames folder")
    parser.add_argument("--pool", type=int, default=300, help="frames the curator works through")
    parser.add_argument("--reviewed", type=int, default=100, help="of which this many are corrected")
    parser.add_argument("--pick", choices=("uncertain", "random"), default="uncertain",
                        help="which pool frames are corrected: the highest face scores (as the app's list sorts "
                             "them), or frames drawn at random (seeded)")
    parser.add_argument("--test", type=int, default=300, help="frames of other people, measured")
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: fine-tune's)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--no-dlib", action="store_true", help="leave dlib out (it needs the bench extra)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rest, pools = people_split(read_frames(Path(args.frames)), args.test, args.pool, 1)
    images = {r.key: load_image(r.image_path) for r in rest + pools[0]}
    start = load_checkpoint(args.model)
    predictor = LandmarkPredictor(start, "cpu")
    print(f"ytf-frames: {len(rest)} frames of {len({r.meta['person'] for r in rest})} people measured; the curator "
          f"works through {len(pools[0])} frames of {len({r.meta['person'] for r in pools[0]})} other people")

    if args.pick == "uncertain":
        pool_scores = [p.uncertainty for p in predict(predictor, pools[0], images)]
        order = np.argsort(pool_scores)[::-1]
    else:
        order = np.random.default_rng(0).permutation(len(pools[0]))
    reviewed = [pools[0][i] for i in order[:args.reviewed]]
    print(f"reviewed: {len(reviewed)} pool frames, " + ("those with the highest face score" if args.pick == "uncertain"
                                                         else "drawn at random"))

    steps = {"predicted": predictor}
    started = time.perf_counter()
    calibration = learn_folder_calibration(LandmarkPredictor(start, "cpu", folder_calibration=False), reviewed)
    steps["calibrated"] = LandmarkPredictor({**start, CALIBRATION_FIELD: calibration.to_field()}, "cpu")
    print(f"calibrated in {time.perf_counter() - started:.0f} s: {calibration.summary()}")
    with tempfile.TemporaryDirectory() as run:
        started = time.perf_counter()
        options = {} if args.epochs is None else {"epochs": args.epochs}
        tuned = fine_tune(args.model, reviewed, run, device="cpu", **options)
        print(f"fine-tuned in {time.perf_counter() - started:.0f} s: share {tuned.share} of the fine-tuned weights "
              f"(held out {len(tuned.validation_keys)} of the reviewed), ellipse scales {tuned.calibration}")
        steps["fine-tuned"] = LandmarkPredictor.load(tuned.model_path, "cpu")

    truth = np.stack([r.points for r in rest])                                       # (N, 68, 2)
    reviewer = Reviewer(predictor, seed=0)
    print(f"\n{'on the rest':<16}{'NME_io':>8}{'coverage':>10}{'r image':>9}{'r score':>9}{'failures':>10}{'caught':>8}"
          f"{'mass':>7}{'drags plain':>13}{'propagation':>13}")
    for step, model in steps.items():
        predictions = predict(model, rest, images)
        figures = landmark_metrics(np.stack([p.landmarks for p in predictions]),
                                   np.stack([p.covariances for p in predictions]), truth)
        errors = figures["per_face_nme_io"]
        caught, mass, r_score = ranking_figures(np.array([p.uncertainty for p in predictions]), errors)
        failures = int((errors > FAILURE_NME_IO).sum())
        reviewer.predictor = model
        plain = drags(reviewer, predictions, truth, propagate=False)
        propagated = drags(reviewer, predictions, truth, propagate=True)
        print(f"{step:<16}{figures['nme_io']:>8.2f}{figures['coverage']:>10.1f}{figures['pearson_image']:>9.2f}"
              f"{r_score:>9.2f}{failures:>10}{caught:>7.0f}%{mass:>6.0f}%{plain:>13.1f}{propagated:>13.1f}")
    if not args.no_dlib:
        dlib_row(rest, images, truth, reviewer)


def predict(predictor: LandmarkPredictor, records: list[FaceRecord], images: dict) -> list:
    return predictor.predict_faces((images[r.key], r.box) for r in records)


def drags(reviewer: Reviewer, predictions, truth: np.ndarray, propagate: bool) -> float:
    """Mean drags per face until every point is within TOLERANCE."""
    return float(np.mean([len(reviewer.review(k, p, truth[k], propagate, TOLERANCE, MAX_DRAGS)) - 1
                          for k, p in enumerate(predictions)]))


def dlib_row(rest: list[FaceRecord], images: dict, truth: np.ndarray, reviewer: Reviewer) -> None:
    from dlib_baseline import DlibLandmarks

    dlib = DlibLandmarks()
    answers = [dlib.as_users_run_it(images[r.key], r.box) for r in rest]
    predictions = [SimpleNamespace(landmarks=points) for points, _ in answers]
    errors = landmark_metrics(np.stack([points for points, _ in answers]), None, truth)["per_face_nme_io"]
    print(f"{'dlib (HOG box)':<16}{errors.mean():>8.2f}{'–':>10}{'–':>9}{'–':>9}{int((errors > FAILURE_NME_IO).sum()):>10}"
          f"{'–':>8}{'–':>7}{drags(reviewer, predictions, truth, propagate=False):>13.1f}{'–':>13}"
          f"   (HOG found {sum(found for _, found in answers)} of {len(answers)})")


if __name__ == "__main__":
    main()
