"""Measure face detectors on the AFW photos and fit the 300-W box calibration.

    python scripts/bench_detector.py              # all 185 photos, ~10 min on 2 cores
    python scripts/bench_detector.py --limit 20   # a quick look

Candidates: dlib's HOG detector at several scales and score thresholds (the last rows
use uglli_core.detection.detect.FaceDetector itself), OpenCV's Haar cascades (frontal; profile
run on the photo and its mirror image) and HOG + cascades merged by non-max suppression.

Protocol. Ground truth per face: the 300-W detector box (``det_*`` in faces.csv) and the
tight box of its 68 landmarks. Each candidate's calibration is fitted by least squares
on the pairs (raw box, 300-W box) whose raw box has IoU ≥ 0.4 with the landmarks' tight
box (a criterion that does not depend on the calibration). A face counts as found when a
*calibrated* box has IoU ≥ 0.4 with its 300-W box, matched one to one (greedy, highest IoU
first); every unmatched box is a false positive. AFW does not annotate every face in a
photo, so some "false positives" are real, unannotated faces. Times are wall-clock per
photo for detection alone (photo already decoded), with OpenCV's default threads.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import dlib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from uglli_core.detection.detect import (VIEW_FRONTAL, VIEW_TURNED_A, VIEW_TURNED_B, BoxCalibration,  # noqa: E402
                                         FaceDetector, RawDetection)
from uglli_core.files.pts import from_file_frame, read_pts  # noqa: E402
from uglli_core.maths.geometry import box_iou  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "afw-photos"
MATCH_IOU = 0.4
NMS_IOU = 0.3
HOG_THRESHOLD = -0.5  # the lowest threshold any HOG row uses; rows filter upwards from it

Detector = Callable[[np.ndarray], list[RawDetection]]


def match(boxes, targets) -> list[tuple[int, int]]:
    """Greedy one-to-one (box index, target index) pairs with IoU ≥ MATCH_IOU."""
    scored = sorted(((box_iou(b, t), i, j) for i, b in enumerate(boxes) for j, t in enumerate(targets)), reverse=True)
    used_b, used_t, pairs = set(), set(), []
    for v, i, j in scored:
        if v < MATCH_IOU:
            break
        if i not in used_b and j not in used_t:
            used_b.add(i)
            used_t.add(j)
            pairs.append((i, j))
    return pairs


def load_faces(data: Path) -> dict[str, list[tuple[tuple, tuple]]]:
    """photo name → [(300-W box, landmarks' tight box)] per annotated face."""
    faces: dict[str, list] = {}
    with open(data / "faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            pts = read_pts(data / row["pts"])                                     # 0-based
            det = tuple(from_file_frame([float(row[k]) for k in ("det_x0", "det_y0", "det_x1", "det_y1")]))
            faces.setdefault(row["image"], []).append((det, (*pts.min(0), *pts.max(0))))
    return faces


# ---- candidates -------------------------------------------------------------------

def dlib_hog(upsample: int) -> Detector:
    hog = dlib.get_frontal_face_detector()

    def run(rgb):
        rects, scores, views = hog.run(rgb, upsample, HOG_THRESHOLD)
        return [RawDetection((r.left(), r.top(), r.right() + 1, r.bottom() + 1), s, v)
                for r, s, v in zip(rects, scores, views)]
    return run


def haar(name: str, both_sides: bool = False) -> Detector:
    """A cascade on the equalised grey photo; with ``both_sides`` also on its mirror
    image (the profile cascade only knows faces turned one way)."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_{name}.xml")

    def run(rgb):
        grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        width = grey.shape[1]
        out = []
        for flipped in (False, True) if both_sides else (False,):
            img = np.ascontiguousarray(grey[:, ::-1]) if flipped else grey
            rects, counts = cascade.detectMultiScale2(img, scaleFactor=1.1, minNeighbors=3, minSize=(30, 30))
            for (x, y, w, h), n in zip(rects, counts):
                x0 = width - x - w if flipped else x
                view = (VIEW_TURNED_B if flipped else VIEW_TURNED_A) if both_sides else VIEW_FRONTAL
                out.append(RawDetection((float(x0), float(y), float(x0 + w), float(y + h)), float(n), view))
        return out
    return run


def run_detector(detect: Detector, photos: dict[str, np.ndarray]) -> tuple[dict[str, list[RawDetection]], float]:
    """Detections per photo and mean ms per photo."""
    out, total = {}, 0.0
    for name, rgb in photos.items():
        t = time.perf_counter()
        out[name] = detect(rgb)
        total += time.perf_counter() - t
    return out, 1000 * total / len(photos)


# ---- calibration and scoring --------------------------------------------------------

def fit_calibration(pairs: list[tuple[RawDetection, tuple]]) -> BoxCalibration:
    """Least squares: 300-W width ≈ scale_x · raw width (same for heights); centre
    offsets in units of the raw box size are constants (their mean), the sideways one
    zero for frontal views and ± one value for the two turned views."""
    if not pairs:  # nothing matched (a tiny --limit): leave the boxes as they are
        return BoxCalibration()
    raw = np.array([p[0].box for p in pairs])
    ref = np.array([p[1] for p in pairs])
    views = np.array([p[0].view for p in pairs])
    rw, rh = raw[:, 2] - raw[:, 0], raw[:, 3] - raw[:, 1]
    tw, th = ref[:, 2] - ref[:, 0], ref[:, 3] - ref[:, 1]
    dx = ((ref[:, 0] + ref[:, 2]) - (raw[:, 0] + raw[:, 2])) / 2 / rw
    dy = ((ref[:, 1] + ref[:, 3]) - (raw[:, 1] + raw[:, 3])) / 2 / rh
    sign = np.select([views == VIEW_TURNED_A, views == VIEW_TURNED_B], [1.0, -1.0], 0.0)
    turned = sign != 0
    return BoxCalibration(scale_x=float(rw @ tw / (rw @ rw)), scale_y=float(rh @ th / (rh @ rh)),
                          shift_y=float(dy.mean()),
                          shift_x_turned=float((sign * dx)[turned].mean()) if turned.any() else 0.0)


def fit_pairs(dets, faces) -> list[tuple[RawDetection, tuple]]:
    """(raw detection, 300-W box) for faces whose tight box a raw box matches."""
    pairs = []
    for name, gt in faces.items():
        for i, j in match([d.box for d in dets[name]], [t for _, t in gt]):
            pairs.append((dets[name][i], gt[j][0]))
    return pairs


Item = tuple[RawDetection, tuple]  # a raw detection and its calibrated box


def calibrate_all(dets, faces) -> tuple[dict[str, list[Item]], BoxCalibration, int]:
    """Calibrated detections, the calibration and the number of pairs it was fitted on."""
    pairs = fit_pairs(dets, faces)
    cal = fit_calibration(pairs)
    return {name: [(d, cal.apply(d.box, d.view)) for d in ds] for name, ds in dets.items()}, cal, len(pairs)


def merge(*item_sets: dict[str, list[Item]]) -> dict[str, list[Item]]:
    """Non-max suppression in priority order: earlier sets win, then higher scores."""
    out = {}
    for name in item_sets[0]:
        kept: list[Item] = []
        for items in item_sets:
            for item in sorted(items[name], key=lambda it: -it[0].score):
                if all(box_iou(item[1], k[1]) < NMS_IOU for k in kept):
                    kept.append(item)
        out[name] = kept
    return out


def score(items: dict[str, list[Item]], faces) -> dict[str, float]:
    found = fp = 0
    for name, gt in faces.items():
        pairs = match([c for _, c in items[name]], [d for d, _ in gt])
        found += len(pairs)
        fp += len(items[name]) - len(pairs)
    raw_iou, cal_iou = [], []
    for name, gt in faces.items():
        for i, j in match([d.box for d, _ in items[name]], [t for _, t in gt]):
            raw_iou.append(box_iou(items[name][i][0].box, gt[j][0]))
            cal_iou.append(box_iou(items[name][i][1], gt[j][0]))
    n_faces = sum(len(g) for g in faces.values())
    return {"recall": found / n_faces, "fp": fp / len(faces),
            "iou_raw": float(np.mean(raw_iou)), "iou_cal": float(np.mean(cal_iou))}


def held_out_iou(dets, faces) -> float:
    """Mean calibrated IoU when the calibration is fitted on every other photo and
    measured on the rest (both ways round): a check that the fit does not overfit."""
    names = sorted(faces)
    ious = []
    for fit_half, test_half in ((names[0::2], names[1::2]), (names[1::2], names[0::2])):
        cal = fit_calibration(fit_pairs(dets, {n: faces[n] for n in fit_half}))
        ious += [box_iou(cal.apply(d.box, d.view), ref) for d, ref in fit_pairs(dets, {n: faces[n] for n in test_half})]
    return float(np.mean(ious))


def above(dets, threshold: float):
    return {name: [d for d in ds if d.score >= threshold] for name, ds in dets.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    args = parser.parse_args()

    faces = load_faces(args.data)
    names = sorted(faces)[:args.limit or None]
    faces = {n: faces[n] for n in names}
    photos = {n: cv2.cvtColor(cv2.imread(str(args.data / n)), cv2.COLOR_BGR2RGB) for n in names}
    print(f"{len(photos)} photos, {sum(len(f) for f in faces.values())} faces, "
          f"{cv2.getNumThreads()} OpenCV threads", file=sys.stderr)

    candidates = {
        "HOG up0": dlib_hog(0),
        "HOG up1": dlib_hog(1),
        "HOG up2": dlib_hog(2),
        "HOG ×1.5 (FaceDetector)": FaceDetector(upsample=1.5, threshold=HOG_THRESHOLD).detect_raw,
        "HOG ×2 (FaceDetector)": FaceDetector(upsample=2.0, threshold=HOG_THRESHOLD).detect_raw,
        "Haar frontal default": haar("frontalface_default"),
        "Haar frontal alt2": haar("frontalface_alt2"),
        "Haar profile + mirror": haar("profileface", both_sides=True),
    }
    raw, ms = {}, {}
    for name, detect in candidates.items():
        raw[name], ms[name] = run_detector(detect, photos)
        print(f"  ran {name}: {ms[name]:.0f} ms/photo", file=sys.stderr)

    rows, items, cals, n_pairs = [], {}, {}, {}
    for name in candidates:
        for threshold in ((0.0, HOG_THRESHOLD) if name.startswith("HOG") else (None,)):
            dets = raw[name] if threshold is None else above(raw[name], threshold)
            label = name if threshold is None else f"{name}, thr {threshold:+.1f}"
            items[label], cals[label], n_pairs[label] = calibrate_all(dets, faces)
            rows.append((label, score(items[label], faces), ms[name]))
    best = f"HOG ×2 (FaceDetector), thr {HOG_THRESHOLD:+.1f}"
    haars = [items[n] for n in ("Haar frontal default", "Haar frontal alt2", "Haar profile + mirror")]
    rows.append((f"{best} + Haar frontal default", score(merge(items[best], haars[0]), faces),
                 ms["HOG ×2 (FaceDetector)"] + ms["Haar frontal default"]))
    rows.append((f"{best} + all 3 Haar", score(merge(items[best], *haars), faces),
                 ms["HOG ×2 (FaceDetector)"] + sum(ms[n] for n in candidates if n.startswith("Haar"))))

    print("| detector | recall | false pos./photo | ms/photo | mean IoU raw → calibrated |")
    print("|---|---|---|---|---|")
    for label, s, t in rows:
        print(f"| {label} | {100 * s['recall']:.1f} % | {s['fp']:.2f} | {t:.0f} | "
              f"{s['iou_raw']:.3f} → {s['iou_cal']:.3f} |")

    print("\nFitted calibrations (scale_x, scale_y, shift_y, shift_x_turned; pairs fitted on):")
    for label, cal in cals.items():
        print(f"  {label:34s} {cal.scale_x:.3f} {cal.scale_y:.3f} {cal.shift_y:+.3f} {cal.shift_x_turned:+.3f}"
              f"  n={n_pairs[label]}")
    c = cals[best]
    print(f"\n{best}: mean calibrated IoU fitted on half the photos, measured on the other half: "
          f"{held_out_iou(above(raw['HOG ×2 (FaceDetector)'], HOG_THRESHOLD), faces):.3f}")
    print(f"\nfor uglli_core/detection/detect.py:\nHOG_CALIBRATION = BoxCalibration(scale_x={c.scale_x:.3f}, "
          f"scale_y={c.scale_y:.3f}, shift_y={c.shift_y:.3f}, shift_x_turned={c.shift_x_turned:.3f})")


if __name__ == "__main__":
    main()
