import numpy as np
import torch

from uglli_core.evaluation.calibration import calibrated_scale, calibrated_shift
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.maths.metrics import CALIBRATED_COVERAGE, mahalanobis_squared
from uglli_core.nets.checkpoint import save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet


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


def test_the_shift_takes_the_mean_error_away_in_every_crop(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(channels=16)).eval())
    predictor = LandmarkPredictor.load(path)
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (140, 140, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [(20.0, 20.0, 80.0, 80.0), (10.0, 30.0, 130.0, 130.0), (40.0, 40.0, 70.0, 70.0)]   # faces of every size
    predicted = predictor.predict_faces(zip(images, boxes))
    # annotations 0.9% of each face's crop right of, and 0.4% above, where the network puts them
    truth = [p.landmarks + np.array([0.009, -0.004]) * 1.1 * (box[2] - box[0]) for p, box in zip(predicted, boxes)]
    faces = list(zip(images, boxes, truth))
    x_shift, y_shift = calibrated_shift(predictor, faces)
    assert abs(x_shift - 0.009) < 1e-6 and abs(y_shift + 0.004) < 1e-6
    predictor.x_shift, predictor.y_shift = x_shift, y_shift
    for p, points in zip(predictor.predict_faces(zip(images, boxes)), truth):
        np.testing.assert_allclose(p.landmarks, points, atol=1e-6)
