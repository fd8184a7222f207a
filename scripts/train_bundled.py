"""Train the bundled default model on 300-W (CPU is enough; resumable).

    python scripts/train_bundled.py [--run-dir ~/uglli-runs/bundled-v5] [--max-minutes M]
    python scripts/train_bundled.py --from-model v4.pt   # stages 6–7 only, from a shipped model
    python scripts/train_bundled.py --from-model v4.pt --limit 4 --epochs 1   # a quick look (then the same
                                                         # with --export --export-to /tmp/m.pt)

Seven ``fit`` runs, one after the other, each in its own folder of the run directory:

1. ``base/``, ``RECIPE`` (32 epochs): an ImageNet-pretrained MobileNetV2 pyramid under
   two hourglasses (192 px crops, heatmaps at 48×48), 3 warm-up epochs of L1 on the
   means, then the paper's GLL, both beside a heatmap loss that keeps the heatmaps
   peaked; augmented with the kinds of box the app feeds the model and with the small,
   blurred, JPEG-compressed faces of ordinary photos; mirrored faces keep the
   annotations' offset. A moving average of the weights is kept from the start.
2. ``detector-boxes/``, ``DETECTOR_STAGE`` (6 epochs from base's final weights, lower
   learning rate): the same, with our detector's box for 40% of the faces not given a
   tight box, found once in photo-like images (``uglli_core.training.training_boxes``).
3. ``framer/``, ``FRAMER`` (30 epochs from ImageNet weights): a small network (96 px,
   one hourglass) whose points only frame the face, so that the model sees the same
   frame whatever box it is given. The model file carries it.
4. ``framed/``, ``FRAMED_STAGE`` (6 epochs from detector-boxes' final weights): the
   model again, with the tight box of the points (jittered) for 75% of the faces, as
   the framer shows it faces.
5. ``photos/``, ``PHOTO_STAGE`` (6 epochs from framed's final weights): the same, with
   more of what ordinary photos do to a face (60% small, 50% JPEG, 20% blurred).
6. ``framer-clean/`` and 7. ``clean/`` (``CLEAN_FRAMER``, ``CLEAN_STAGE``): the framer
   and the model of stages 3 and 5 trained further with labels read in the 300-W
   convention (1-based files, 0-based inside: ``uglli_core.files.pts``) and mirrored without
   any offset. Models up to v4 were trained on labels read one pixel off, and on files
   that carried a size-dependent offset of their own; these stages are how v5 left
   that offset behind. ``--from-model M`` starts them from the model file M (its
   network and its framer) instead of running stages 1–5: v5 was made so, from v4.
   The model of stage 7 and the framer of stage 6 are shipped.

The moving average is what is validated and shipped. See README, "Training", for why.

Re-running the same command resumes where it stopped. ``--export`` then writes the
final model (the last epoch, not the epoch that scored best on the validation split:
picking by that split would tune to it) to ``resources/uglli_default.pt`` (weights,
configs and figures, no optimiser state). The validation split
(``resources/val_split.json``) is never trained on.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
from pathlib import Path

import numpy as np

from uglli_core.detection.detect import FaceDetector
from uglli_core.evaluation.calibration import (calibrated_corrected_scales, calibrated_posterior_scale,
                                               calibrated_scale, calibrated_shift)
from uglli_core.files.records import read_manifest
from uglli_core.files.splits import apply_split, save_split, split_records
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.nets.checkpoint import (BUNDLED_MODEL, FRAMER_FIELD, build_model, export_model, load_checkpoint,
                                        save_checkpoint)
from uglli_core.nets.model import ModelConfig
from uglli_core.prior.model_prior import PRIOR_FIELD, prior_field, training_prior_field
from uglli_core.training.photo_like import build_set, crop_face, photo_like_face
from uglli_core.training.samples import AugmentConfig
from uglli_core.training.train import TrainConfig, fit, json_lines_printer

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "datasets" / "300w" / "MANIFEST.csv"
SPLIT_FILE = REPO / "resources" / "val_split.json"

RECIPE = dict(
    model=ModelConfig(encoder="mobilenet_v2", input_size=192, heatmap_size=48, channels=128,
                      hourglass_depth=3, n_stacks=2),
    augment=AugmentConfig(tight_box=0.25, low_resolution=0.4, min_face=30.0, jpeg=0.3, blur=0.15,
                          mirror_shift=0.0071),
    epochs=32, warmup_epochs=3, batch_size=16, optimizer="adam", lr=1e-3, lr_milestones=(0.6, 0.85),
    lr_gamma=0.3, grad_clip=5.0, heatmap_weight=1.0, heatmap_sigma=1.5, average_decay=0.998, seed=0)
# mirror_shift: the x offset the export measured on the previous model (0.71% of the crop)

DETECTOR_STAGE = dict(RECIPE, augment=dataclasses.replace(RECIPE["augment"], detector_box=0.4),
                      epochs=6, warmup_epochs=0, lr=3e-4, lr_milestones=(0.5,))
FRAMER = dict(RECIPE, model=ModelConfig(encoder="mobilenet_v2", input_size=96, heatmap_size=24, channels=64,
                                        hourglass_depth=2, n_stacks=1, head_channels=32),
              augment=DETECTOR_STAGE["augment"], epochs=30)
# the model as the framer shows it faces: mostly by the tight box of their points, jittered
FRAMED_STAGE = dict(DETECTOR_STAGE, augment=dataclasses.replace(DETECTOR_STAGE["augment"], tight_box=0.75))
# then more of the small, compressed, blurred faces of ordinary photos
PHOTO_STAGE = dict(FRAMED_STAGE, augment=dataclasses.replace(FRAMED_STAGE["augment"], low_resolution=0.6, jpeg=0.5,
                                                             blur=0.2))
# then both networks on labels in the 300-W convention, mirrored without an offset
CLEAN_LABELS = dict(mirror_shift=0.0)
CLEAN_STAGE = dict(PHOTO_STAGE, augment=dataclasses.replace(PHOTO_STAGE["augment"], **CLEAN_LABELS), epochs=5)
CLEAN_FRAMER = dict(FRAMER, augment=dataclasses.replace(FRAMER["augment"], **CLEAN_LABELS), epochs=6,
                    warmup_epochs=0, lr=3e-4, lr_milestones=(0.5,))
# (folder, recipe, the stage whose final weights it starts from)
STAGES = (("base", RECIPE, None), ("detector-boxes", DETECTOR_STAGE, "base"), ("framer", FRAMER, None),
          ("framed", FRAMED_STAGE, "detector-boxes"), ("photos", PHOTO_STAGE, "framed"),
          ("framer-clean", CLEAN_FRAMER, "framer"), ("clean", CLEAN_STAGE, "photos"))
MODEL_STAGE, FRAMER_STAGE = "clean", "framer-clean"
# with --from-model, the stages that the model file stands in for: (stage, which of its networks)
FROM_MODEL = {"photos": "model", "framer": FRAMER_FIELD}


# How the shipped model is run (LandmarkPredictor): framed by the framer's points, then
# fused with its shape prior, 25 ms a face at batch 32 on 2 cores in all (the network
# alone: 23). Flip and recrop each double the network's cost, past the budget of 30.
TEST_TIME = dict(flip=False, recrop=False, frame_first=True, fuse_prior=True)
CALIBRATION_FACES = 300  # training faces, each as its crop and as a photo-like image


def seed_from_model(run_dir: Path, model_file: Path) -> None:
    """Put the networks of a shipped model file where stages 6 and 7 start from, as if
    stages 1–5 had made them."""
    shipped = load_checkpoint(model_file)
    for stage, network in FROM_MODEL.items():
        last = run_dir / stage / "last.pt"
        if not last.exists():
            source = shipped if network == "model" else shipped[network]
            save_checkpoint(last, build_model(source), epoch=0, parent=str(model_file), seeded=True)


def finished(folder: Path, epochs: int) -> bool:
    last = folder / "last.pt"
    return last.exists() and load_checkpoint(last).get("epoch", 0) >= epochs


def export(run_dir: Path, train: list, destination: Path) -> None:
    """The run's final model and framer into ``destination`` (resources/ by default), with its test-time options, the
    x and y shift that put its points where the annotations do, the covariance scale that
    calibrates its ellipses and those that calibrate them after the shape prior, with
    nothing corrected and after 1, 3 and 5 corrections, all measured on training faces
    (uglli_core.evaluation.calibration)."""
    framer = load_checkpoint(run_dir / FRAMER_STAGE / "last.pt")
    # every stage trained on the same faces: the prior is theirs once, not merged per stage
    checkpoint = {**load_checkpoint(run_dir / MODEL_STAGE / "last.pt"), PRIOR_FIELD: training_prior_field(train),
                  FRAMER_FIELD: {"model_config": framer["model_config"], "state_dict": framer["state_dict"]}}
    # mirrored training labels kept the annotations' offset: flip must undo it the same way
    mirror_shift = checkpoint["train_config"]["augment"].get("mirror_shift", 0.0)
    picked = random.Random(0).sample(train, min(CALIBRATION_FACES, len(train)))
    detector = FaceDetector()
    crops = build_set(crop_face, picked, 0, detector)
    photos = build_set(photo_like_face, picked, 0, detector)
    test_time = {**TEST_TIME, "mirror_shift": mirror_shift}
    # the network's own offset, on the boxes it was given and before the prior
    network = LandmarkPredictor({**checkpoint, "test_time": test_time}, "cpu", frame_first=False, fuse_prior=False)
    test_time["x_shift"], test_time["y_shift"] = calibrated_shift(network, [(f.image, f.box, f.points) for f in crops])
    faces = [(f.image, f.detected_box or f.box, f.points) for f in crops + photos]
    # then the network's ellipses as it is run, then the same after the prior
    test_time["covariance_scale"] = calibrated_scale(
        LandmarkPredictor({**checkpoint, "test_time": test_time}, "cpu", fuse_prior=False), faces)
    shipped = LandmarkPredictor({**checkpoint, "test_time": test_time}, "cpu")
    shipped.shape_prior = dataclasses.replace(shipped.shape_prior, corrected_scales=np.zeros((0, 2)),
                                              posterior_scale=calibrated_posterior_scale(shipped, faces))
    # and after the reviewer's first corrections, as the app fuses them
    shipped.shape_prior = dataclasses.replace(shipped.shape_prior,
                                              corrected_scales=calibrated_corrected_scales(shipped, faces))
    prior = shipped.shape_prior
    export_model({**checkpoint, PRIOR_FIELD: prior_field(prior)}, destination, test_time=test_time)
    print(f"wrote {destination}: test-time {test_time}, posterior scale {prior.posterior_scale:.3f}, "
          f"after 1/3/5 corrections {'/'.join(f'{v:.3f}' for v in prior.corrected_scales[:, 1])}, "
          f"from {len(crops)} training faces, each as its crop and as a photo-like image")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default=str(Path.home() / "uglli-runs" / "bundled-v5"))
    parser.add_argument("--max-minutes", type=float, default=None, help="pause after this long; re-run to resume")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--export", action="store_true", help="copy the run's final model into resources/")
    parser.add_argument("--export-to", default=str(BUNDLED_MODEL), help="where --export writes the model")
    parser.add_argument("--limit", type=int, default=0,
                        help="a quick look: the first N training and validation faces only")
    parser.add_argument("--epochs", type=int, default=0, help="a quick look: every stage runs N epochs")
    parser.add_argument("--from-model", default=None,
                        help="start stages 6-7 from this model file's networks instead of running stages 1-5")
    args = parser.parse_args()
    run_dir = Path(args.run_dir)
    records = read_manifest(MANIFEST)
    if not SPLIT_FILE.exists():  # made once, then fixed: 10% of each subset, seed 0
        save_split(SPLIT_FILE, split_records(records, 0.1, seed=0)[1])
    train, val = apply_split(records, SPLIT_FILE)
    if args.limit:
        train, val = train[:args.limit], val[:args.limit]
    stages = [(name, dict(stage, epochs=args.epochs or stage["epochs"]), start) for name, stage, start in STAGES]
    if args.from_model:
        seed_from_model(run_dir, Path(args.from_model))
    if args.from_model or all((run_dir / stage / "last.pt").exists() and load_checkpoint(run_dir / stage / "last.pt")
                              .get("seeded") for stage in FROM_MODEL):
        stages = [stage for stage in stages if stage[2] in FROM_MODEL]
    if args.export:
        if not all(finished(run_dir / name, stage["epochs"]) for name, stage, _ in stages):
            raise SystemExit(f"{run_dir}: the run has not finished; run without --export first")
        export(run_dir, train, Path(args.export_to))
        return
    for name, stage, start in stages:  # a finished stage is skipped; a paused one resumes
        if not finished(run_dir / name, stage["epochs"]):
            init = None if start is None else str(run_dir / start / "last.pt")
            config = TrainConfig(out_dir=str(run_dir / name), init=init, max_minutes=args.max_minutes,
                                 threads=args.threads, **stage)
            if fit(config, train, val, json_lines_printer()).cancelled or not finished(run_dir / name, stage["epochs"]):
                return  # paused by --max-minutes: run again to go on


if __name__ == "__main__":
    main()
