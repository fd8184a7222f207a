"""The training loop learns: a small network fitted to 8 real faces."""
import time

import numpy as np

from uglli_core.evaluation.evaluate import evaluate
from uglli_core.files.records import read_manifest
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.nets.model import ModelConfig
from uglli_core.training.samples import AugmentConfig
from uglli_core.training.train import TrainConfig, fit


def test_small_model_fits_eight_faces(datasets, tmp_path):
    faces = read_manifest(datasets / "300w" / "MANIFEST.csv")[:8]
    no_augmentation = AugmentConfig(scale=0, rotation=0, shift=0, flip=0, colour=0, grey=0, occlusion=0, box_jitter=0)
    config = TrainConfig(out_dir=str(tmp_path), model=ModelConfig(n_stacks=1, channels=64), augment=no_augmentation,
                         epochs=150, warmup_epochs=60, batch_size=8, lr=2e-3, lr_milestones=(0.8,), log_every=1000)
    started = time.monotonic()
    result = fit(config, faces, faces[:4])
    minutes = (time.monotonic() - started) / 60
    figures = evaluate(LandmarkPredictor.load(result.last_path, "cpu"), faces)
    print(f"fitted in {minutes:.1f} min: {figures}")
    assert figures["nme_box"] < 3.0
    assert np.isfinite(figures["coverage"])
