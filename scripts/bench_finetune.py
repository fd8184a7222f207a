"""Does fine-tuning on a user's corrections help? Before/after NME and wall time.

    python scripts/bench_finetune.py [--model PATH] [--sizes 20 50 100] [--shift lowres] [--share 1]
    python scripts/bench_finetune.py --limit 10 --sizes 4 --epochs 1     # a quick look

Faces: the validation split of the bundled model (``resources/val_split.json``), which
it never trained on. A fixed half is held out for measuring; from the other half the
first N faces play the user's corrected faces (their ground truth is the correction).
For each N the bundled model is fine-tuned with ``uglli_core.fine_tune`` — the code
the app's "Fine-tune on corrections" runs — and NME on the held-out half is printed
before and after, with the wall time of the fine-tuning.

Those faces look like the ones the model was trained on, so there is little to gain.
``--shift lowres`` plays a user whose photos differ: every face is shrunk to about
30 px across, JPEG-compressed at quality 30 and enlarged back (points unchanged), as
in crowd or surveillance photos; the degraded copies live in a temporary folder.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import tempfile
import time
from pathlib import Path

import cv2
import torch

from uglli_core import FaceRecord, LandmarkPredictor, evaluate_records, fine_tune, load_image, read_manifest
from uglli_core.files.splits import apply_split

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="starting model (default: the bundled one)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--epochs", type=int, default=None, help="default: uglli_core's fine-tune default")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--share", type=float, default=None,
                        help="fine-tuned share of the weights (default: chosen on the held-out faces)")
    parser.add_argument("--shift", choices=["none", "lowres"], default="none")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="use only N faces of the validation split")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    faces = apply_split(read_manifest(MANIFEST), REPO / "resources" / "val_split.json")[1]
    random.Random(0).shuffle(faces)
    faces = faces[:args.limit or None]
    scratch = tempfile.TemporaryDirectory()
    if args.shift == "lowres":
        faces = [low_resolution_copy(face, Path(scratch.name)) for face in faces]
    measured, pool = faces[:len(faces) // 2], faces[len(faces) // 2:]
    base = LandmarkPredictor.load(args.model, "cpu")
    before = evaluate_records(base, measured)
    print(f"held-out faces: {len(measured)}; correction pool: {len(pool)}")
    print(f"before: NME_io {before['nme_io']:.2f}%  NME_box {before['nme_box']:.2f}%  "
          f"coverage {before['coverage']:.1f}%")
    print(f"\n{'N':>4}{'NME_io after':>14}{'NME_box after':>15}{'coverage':>10}{'minutes':>9}{'share':>7}"
          f"{'calibrated':>12}")
    for size in args.sizes:
        corrections = pool[:size]
        with tempfile.TemporaryDirectory() as run_dir:
            started = time.perf_counter()
            tuning = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("share", args.share)) if v is not None}
            result = fine_tune(base.info["path"], corrections, run_dir, device="cpu", **tuning)
            minutes = (time.perf_counter() - started) / 60
            after = evaluate_records(LandmarkPredictor.load(result.model_path, "cpu"), measured)
        print(f"{size:>4}{after['nme_io']:>13.2f}%{after['nme_box']:>14.2f}%{after['coverage']:>9.1f}%{minutes:>9.1f}"
              f"{result.share:>7g}{'yes' if result.calibration else 'no':>12}")


def low_resolution_copy(face: FaceRecord, folder: Path) -> FaceRecord:
    """The face as a ~30 px-wide, JPEG-damaged photo would show it, at the original size."""
    image = load_image(face.image_path)
    height, width = image.shape[:2]
    factor = 30.0 / max(face.box[2] - face.box[0], face.box[3] - face.box[1])
    small = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))),
                       interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 30])
    degraded = cv2.resize(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), (width, height), interpolation=cv2.INTER_LINEAR)
    path = folder / f"{face.key.replace('/', '_').replace('#', '_')}.png"
    cv2.imwrite(str(path), degraded)
    return dataclasses.replace(face, image_path=path)


if __name__ == "__main__":
    main()
