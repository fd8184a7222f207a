"""A face's uncertainty score is measured against the face's own predicted size, not
against the box it was given (issue 20, item 3)."""
import numpy as np
import pytest

from uglli_core.files.images import load_image
from uglli_core.files.records import read_manifest
from uglli_core.inference.predict import FacePrediction, LandmarkPredictor, point_scores
from uglli_core.maths.metrics import point_uncertainty


def grown(box, factor: float):
    """``box`` scaled by ``factor`` about its centre."""
    x0, y0, x1, y1 = box
    cx, cy, half_w, half_h = (x0 + x1) / 2, (y0 + y1) / 2, factor * (x1 - x0) / 2, factor * (y1 - y0) / 2
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def test_the_score_does_not_depend_on_the_box_given():
    rng = np.random.default_rng(0)
    landmarks = rng.uniform(100, 300, (68, 2))           # tight box about 200 × 200
    covariances = np.tile(np.diag([4.0, 9.0]), (68, 1, 1))
    box = (90.0, 80.0, 310.0, 320.0)
    tight, loose = (FacePrediction(b, landmarks, covariances) for b in (box, grown(box, 1.6)))
    assert loose.uncertainty == tight.uncertainty
    span = landmarks.max(axis=0) - landmarks.min(axis=0)
    assert tight.uncertainty == pytest.approx(100 * 6.0 ** 0.5 / np.sqrt(span[0] * span[1]))


def test_point_scores_of_many_faces_are_those_of_each():
    rng = np.random.default_rng(1)
    landmarks = rng.uniform(0, 100, (3, 68, 2)) * np.array([1.0, 2.0, 0.5])[:, None, None]
    covariances = np.tile(np.eye(2), (3, 68, 1, 1)) * rng.uniform(1, 5, (3, 68))[..., None, None]
    together = point_scores(landmarks, covariances)
    assert together.shape == (3, 68)
    for k in range(3):
        assert np.allclose(together[k], FacePrediction((0, 0, 1, 1), landmarks[k], covariances[k]).point_uncertainty)
    assert np.allclose(together[0], 100 * point_uncertainty(covariances[0])
                       / np.sqrt(np.prod(landmarks[0].max(0) - landmarks[0].min(0))))


def test_the_bundled_model_scores_a_face_alike_in_its_box_and_one_1_6_times_larger(datasets):
    """As the app runs it: before, the larger box cut the score by 38%."""
    face = read_manifest(datasets / "300w" / "MANIFEST.csv", check_sizes=False)[0]
    image = load_image(face.image_path)
    own, loose = LandmarkPredictor.load(device="cpu").predict(image, [face.box, grown(face.box, 1.6)])
    assert loose.uncertainty == pytest.approx(own.uncertainty, rel=0.05)
