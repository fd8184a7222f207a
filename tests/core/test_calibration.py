import numpy as np
import torch

from uglli_core.calibration import calibrated_scale
from uglli_core.checkpoint import save_checkpoint
from uglli_core.metrics import CALIBRATED_COVERAGE, mahalanobis_squared
from uglli_core.model import ModelConfig, UGLLINet
from uglli_core.predict import LandmarkPredictor


def coverage(predictor, faces):
    predictions = predictor.predict_faces((image, box) for image, box, _ in faces)
    squared = mahalanobis_squared(np.stack([t for _, _, t in faces]), np.stack([p.landmarks for p in predictions]),
                                  np.stack([p.covariances for p in predictions]))
    return 100 * (squared <= 1).mean()


def test_the_calibrated_scale_puts_the_calibrated_share_of_points_inside_their_ellipses(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(channels=16)).eval(), test_time={"covariance_scale": 3.0})
    predictor = LandmarkPredictor.load(path)
    rng = np.random.default_rng(0)
    faces = [(rng.integers(0, 255, (100, 100, 3), dtype=np.uint8), (20.0, 20.0, 80.0, 80.0),
              rng.uniform(20, 80, (68, 2))) for _ in range(6)]
    scale = calibrated_scale(predictor, faces)
    assert abs(coverage(predictor, faces) - CALIBRATED_COVERAGE) > 2, "an untrained model is not calibrated"
    predictor.covariance_scale = scale
    assert abs(coverage(predictor, faces) - CALIBRATED_COVERAGE) < 0.5     # 408 points: a step is 0.25%
    assert abs(calibrated_scale(predictor, faces) / scale - 1) < 1e-9, "calibrating twice changes nothing"
