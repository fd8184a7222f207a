"""Which face score puts the faces the model gets wrong, and the detector's false boxes,
first (issue 19, part 3):

    python scripts/bench_face_score.py [--model PATH] [--ytf 300] [--seed 0]
    python scripts/bench_face_score.py --limit 10 --ytf 20       # a quick look

Every candidate is a per-face number computed from one prediction alone:

- fused |Σ|^¼: the mean of the answer's point scores, fused with the shape prior (the
  face score before issue 19; the ellipses the app draws);
- network |Σ|^¼: the same of the network's own Gaussians, before the prior;
- prior's move: the mean distance from the network's points to the answer's;
- network d²: the mean squared Mahalanobis distance of the network's points from the
  answer's under the network's Σ (the network's share of the innovation dᵀ(P+R)⁻¹d);
- network/median + move/median: the two, each divided by its median on the plain set;
- face score: ``FacePrediction.uncertainty`` as the model now gives it.

All lengths are in percent of √(w·h) of the tight box of the answer's points.

Sets (each face of the 300-W validation split, 164 with the bundled model's split):

- plain: the 300-W crops as they are;
- hard, one each: every validation face once in each of five ways, drawn per face from
  ``--seed``: small (shrunk to 40-60 px, √(w·h) of its points' box), blurred (Gaussian,
  σ 3-6 % of that size), turned (30-60°, either way, about the face's centre), occluded
  (a grey or noise rectangle over 20-40 % of that box) or JPEG at quality 10;
- hard, two at once: every validation face in two of those ways, drawn;
- ytf-frames: ``--ytf`` frames drawn from the 1,200 (another team's annotations);
- AFW photos: our detector on the 185 photos; a detection whose IoU with every annotated
  face's tight box is under 0.3 is a false box, the others real faces.

The 300-W and ytf faces are given a box like a detector's: the tight box of their true
points with each edge moved by up to ±7 % (300-W's detector box is the tight box, ±5 %
of its size, on the validation faces). Figures: of the faces with NME_io > 10 %
(failures), the share among the 30 % with the highest score; the NME_io those 30 % hold,
as a share of what the 30 % with the highest NME_io hold (error mass vs oracle); the
Pearson r of score and NME_io; on AFW, the chance that a random false box scores above a
random real face (AUC).
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from uglli_core import LandmarkPredictor, detect_faces, load_image, read_manifest, read_pts
from uglli_core.files.records import tight_box
from uglli_core.files.splits import apply_split
from uglli_core.inference.predict import point_scores
from uglli_core.maths.geometry import box_iou, transform_points
from uglli_core.maths.metrics import FAILURE_NME_IO, box_size, landmark_metrics, mahalanobis_squared, pearson
from uglli_core.training.photo_like import hand_drawn_box, resize

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
DEGRADATIONS = ("small", "blurred", "turned", "occluded", "jpeg")
TOP_SHARE = 0.3
FALSE_BOX_IOU = 0.3


def degraded(kind: str, image: np.ndarray, points: np.ndarray, rng: np.random.Generator):
    """(image, points) made hard in the way ``kind`` names (module docstring)."""
    size = float(np.sqrt(np.prod(points.max(0) - points.min(0))))
    if kind == "small":
        image, matrix = resize(image, np.exp(rng.uniform(np.log(40), np.log(60))) / size)
        return image, transform_points(matrix, points)
    if kind == "blurred":
        return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.03, 0.06) * size), points
    if kind == "turned":
        centre = (points.max(0) + points.min(0)) / 2
        angle = rng.uniform(30, 60) * rng.choice([-1, 1])
        matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), 1.0)
        image = cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        return image, points @ matrix[:, :2].T + matrix[:, 2]
    if kind == "occluded":
        (x0, y0), (x1, y1) = points.min(0), points.max(0)
        area, aspect = rng.uniform(0.2, 0.4) * size ** 2, np.exp(rng.uniform(np.log(0.5), np.log(2)))
        w, h = min(x1 - x0, np.sqrt(area * aspect)), min(y1 - y0, np.sqrt(area / aspect))
        left, top = int(x0 + rng.uniform(0, x1 - x0 - w)), int(y0 + rng.uniform(0, y1 - y0 - h))
        image = image.copy()
        patch = image[top:top + int(h), left:left + int(w)]
        patch[:] = 128 if rng.random() < 0.5 else rng.integers(0, 256, patch.shape, dtype=np.uint8)
        return image, points
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 10])
    assert ok, "JPEG encoding failed"
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), points


def detector_like(points: np.ndarray, rng: np.random.Generator):
    return hand_drawn_box(tight_box(points), rng)


def validation_sets(seed: int, limit: int) -> dict[str, list]:
    """name → [(image, box, true points)] of the 300-W validation faces, plain and made hard."""
    records = apply_split(read_manifest(DATASETS / "300w" / "MANIFEST.csv"), REPO / "resources" / "val_split.json")[1]
    sets = {"plain": [], "hard, one each": [], "hard, two at once": []}
    for number, record in enumerate(records[:limit or None]):
        image, points = load_image(record.image_path), record.points
        rng = np.random.default_rng([seed, number])
        sets["plain"].append((image, detector_like(points, rng), points))
        for kind in DEGRADATIONS:
            hard_image, hard_points = degraded(kind, image, points, rng)
            sets["hard, one each"].append((hard_image, detector_like(hard_points, rng), hard_points))
        for kind in rng.choice(DEGRADATIONS, 2, replace=False):
            image, points = degraded(kind, image, points, rng)
        sets["hard, two at once"].append((image, detector_like(points, rng), points))
    return sets


def ytf_set(count: int, seed: int) -> list:
    folder = DATASETS / "ytf-frames"
    with open(folder / "faces.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    rng = np.random.default_rng(seed)
    faces = []
    for k in sorted(rng.choice(len(rows), min(count, len(rows)), replace=False)):
        points = read_pts(folder / rows[k]["pts"])
        faces.append((load_image(folder / rows[k]["image"]), detector_like(points, rng), points))
    return faces


def afw_detections(limit: int) -> tuple[list, np.ndarray]:
    """[(photo, detection, None)] of every detection on the AFW photos (the first ``limit``;
    0: all), and (N,) which are false."""
    folder = DATASETS / "afw-photos"
    annotated: dict[str, list] = {}
    with open(folder / "faces.csv", newline="") as file:
        for row in csv.DictReader(file):
            annotated.setdefault(row["image"], []).append(tight_box(read_pts(folder / row["pts"])))
    faces, false = [], []
    for name, truths in sorted(annotated.items())[:limit or None]:
        photo = load_image(folder / name)
        for box in detect_faces(photo):
            faces.append((photo, box, None))
            false.append(max(box_iou(box, truth) for truth in truths) < FALSE_BOX_IOU)
    return faces, np.array(false)


def raw_scores(predictions) -> dict[str, np.ndarray]:
    """Candidate → (N,) its scores (module docstring), but the one divided by medians."""
    landmarks = np.stack([p.landmarks for p in predictions])                        # (N, 68, 2)
    network = [p.observed for p in predictions]
    network_landmarks, network_covariances = np.stack([n[0] for n in network]), np.stack([n[1] for n in network])
    sizes = box_size(landmarks)
    return {"fused |Σ|^¼": point_scores(landmarks, np.stack([p.covariances for p in predictions])).mean(1),
            "network |Σ|^¼": point_scores(landmarks, network_covariances).mean(1),
            "prior's move": 100 * np.linalg.norm(network_landmarks - landmarks, axis=-1).mean(1) / sizes,
            "network d²": mahalanobis_squared(network_landmarks, landmarks, network_covariances).mean(1),
            "face score": np.array([p.uncertainty for p in predictions])}


def with_medians(scores: dict[str, np.ndarray], medians: dict[str, float]) -> dict[str, np.ndarray]:
    """``scores`` and the network's spread plus the prior's move, each divided by its median
    on the plain set (a model without a prior moves nothing: its median is 0)."""
    ratio = sum(scores[key] / max(medians[key], 1e-12) for key in ("network |Σ|^¼", "prior's move"))
    return {**scores, "network/median + move/median": ratio}


def nme_io(predictions, truth: np.ndarray) -> np.ndarray:
    """(N,) each face's NME_io (%)."""
    return landmark_metrics(np.stack([p.landmarks for p in predictions]), None, truth)["per_face_nme_io"]


def ranking_figures(score: np.ndarray, nme: np.ndarray) -> tuple[float, float, float]:
    """(% of failures among the top 30 % by score, % of the oracle's error mass, Pearson r)."""
    top = int(round(TOP_SHARE * len(nme)))
    chosen, oracle = np.argsort(-score, kind="stable")[:top], np.argsort(-nme, kind="stable")[:top]
    failures = nme > FAILURE_NME_IO
    caught = 100 * failures[chosen].sum() / failures.sum() if failures.any() else float("nan")
    return caught, 100 * nme[chosen].sum() / nme[oracle].sum(), pearson(score, nme)


def auc(score: np.ndarray, false: np.ndarray) -> float:
    """The chance that a random false box scores above a random real face (ties count half)."""
    above = score[false][:, None] - score[~false][None, :]
    return float((above > 0).mean() + 0.5 * (above == 0).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--ytf", type=int, default=300, help="ytf-frames drawn (of 1,200)")
    parser.add_argument("--limit", type=int, default=0,
                        help="a quick look: only the first N validation faces and AFW photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    predictor = LandmarkPredictor.load(args.model)
    sets = {**validation_sets(args.seed, args.limit), "ytf-frames": ytf_set(args.ytf, args.seed)}
    results, medians = {}, None
    for name, faces in sets.items():
        predictions = predictor.predict_faces((image, box) for image, box, _ in faces)
        scores = raw_scores(predictions)
        medians = medians or {key: float(np.median(values)) for key, values in scores.items()}  # the plain set's
        results[name] = (with_medians(scores, medians), nme_io(predictions, np.stack([t for *_, t in faces])))
    afw_faces, false = afw_detections(args.limit)
    afw_scores = with_medians(raw_scores(predictor.predict_faces((p, b) for p, b, _ in afw_faces)), medians)

    print(f"model {predictor.info.get('path')}; medians on the plain set: "
          + ", ".join(f"{key} {value:.3g}" for key, value in medians.items()))
    for name, (_, nme) in results.items():
        print(f"{name}: {len(nme)} faces, NME_io {nme.mean():.2f}%, "
              f"{(nme > FAILURE_NME_IO).sum()} failures (NME_io > {FAILURE_NME_IO:.0f}%)")
    print(f"AFW photos: {len(false)} detections, {false.sum()} false boxes (IoU < {FALSE_BOX_IOU} with every face)")
    print(f"\nfailures in the top {TOP_SHARE:.0%} / error mass vs oracle / Pearson r with NME_io; AFW: AUC")
    print(f"{'score':30}" + "".join(f"{name:>22}" for name in results) + f"{'AFW':>7}")
    for candidate in afw_scores:
        cells = "".join("{:>6.1f}{:>7.1f}{:>7.2f}  ".format(*ranking_figures(scores[candidate], nme))
                        for scores, nme in results.values())
        print(f"{candidate:30}{cells}{auc(afw_scores[candidate], false):>7.3f}")
    print(f"\nhard, one each: failures in the top {TOP_SHARE:.0%} of each way's faces (failures)")
    scores, nme = results["hard, one each"]
    kinds = np.tile(np.array(DEGRADATIONS), len(nme) // len(DEGRADATIONS))
    print(f"{'score':30}" + "".join(f"{f'{kind} ({(nme[kinds == kind] > FAILURE_NME_IO).sum()})':>15}"
                                    for kind in DEGRADATIONS))
    for candidate, values in scores.items():
        print(f"{candidate:30}" + "".join(f"{ranking_figures(values[kinds == k], nme[kinds == k])[0]:>15.1f}"
                                          for k in DEGRADATIONS))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
