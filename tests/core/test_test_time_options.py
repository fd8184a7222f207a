"""Test-time options: flip (mirror, run, unmirror, average the Gaussians) and recrop (a second pass framed by the first points)."""
import numpy as np
import torch

from uglli_core.files.records import tight_box
from uglli_core.inference.predict import LandmarkPredictor
from uglli_core.maths.geometry import MIRROR_68, average_gaussians, unmirror
from uglli_core.nets.checkpoint import save_checkpoint
from uglli_core.nets.model import ModelConfig, UGLLINet


def random_gaussians(rng, n=68):
    factors = rng.normal(size=(n, 2, 2))
    return rng.uniform(0, 160, (n, 2)), factors @ factors.swapaxes(-1, -2) + 0.1 * np.eye(2)


def test_unmirror_twice_is_the_identity():
    means, covs = random_gaussians(np.random.default_rng(0))
    back = unmirror(*unmirror(means, covs, 160), 160)
    np.testing.assert_allclose(back[0], means, atol=1e-12)
    np.testing.assert_allclose(back[1], covs, atol=1e-12)


def test_unmirror_maps_a_left_eye_corner_to_the_right_one():
    means, covs = random_gaussians(np.random.default_rng(1))
    covs[45] = [[4.0, 1.5], [1.5, 2.0]]
    mirrored_means, mirrored_covs = unmirror(means, covs, 100)
    np.testing.assert_allclose(mirrored_means[36], [99.0 - means[45, 0], means[45, 1]])
    np.testing.assert_allclose(mirrored_covs[36], [[4.0, -1.5], [-1.5, 2.0]])


def test_the_average_of_two_gaussians_is_their_even_mixture():
    rng = np.random.default_rng(2)
    (mean_a, cov_a), (mean_b, cov_b) = random_gaussians(rng, 1), random_gaussians(rng, 1)
    # sample the mixture and compare moments
    samples = np.concatenate([rng.multivariate_normal(mean_a[0], cov_a[0], 200_000),
                              rng.multivariate_normal(mean_b[0], cov_b[0], 200_000)])
    mean, cov = average_gaussians(mean_a, cov_a, mean_b, cov_b)
    np.testing.assert_allclose(mean[0], samples.mean(0), atol=0.05)
    np.testing.assert_allclose(cov[0], np.cov(samples.T), atol=0.5, rtol=0.03)


def test_a_flipping_predictor_sees_a_mirrored_photo_as_the_mirror_of_the_photo(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(channels=16)).eval(), test_time={"flip": True})
    predictor = LandmarkPredictor.load(path)
    assert predictor.flip, "the model file says it is run with test-time flip"
    image = np.random.default_rng(3).integers(0, 255, (120, 150, 3), dtype=np.uint8)
    box = (30.0, 20.0, 110.0, 100.0)
    face = predictor.predict(image, [box])[0]
    mirror_box = (149.0 - box[2], box[1], 149.0 - box[0], box[3])
    mirror_face = predictor.predict(image[:, ::-1].copy(), [mirror_box])[0]
    # a mirrored photo of width W maps x → W − 1 − x
    expected_means, expected_covs = unmirror(face.landmarks, face.covariances, 150)
    np.testing.assert_allclose(mirror_face.landmarks, expected_means, atol=1e-3)
    np.testing.assert_allclose(mirror_face.covariances, expected_covs, atol=1e-3, rtol=1e-4)
    assert not LandmarkPredictor.load(path, flip=False).flip


def test_mirror_permutation_is_an_involution():
    assert np.array_equal(MIRROR_68[MIRROR_68], np.arange(68))


def test_recrop_frames_the_face_by_its_first_points_whatever_the_box(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(channels=16)).eval(), test_time={"recrop": True})
    predictor = LandmarkPredictor.load(path)
    plain = LandmarkPredictor.load(path, recrop=False)
    assert predictor.recrop and not plain.recrop
    image = np.random.default_rng(4).integers(0, 255, (120, 150, 3), dtype=np.uint8)
    box = (30.0, 20.0, 110.0, 100.0)
    first = plain.predict(image, [box])[0]
    second = predictor.predict(image, [box])[0]
    framed = plain.predict(image, [tight_box(first.landmarks)])[0]
    np.testing.assert_allclose(second.landmarks, framed.landmarks, atol=1e-6)
    np.testing.assert_allclose(second.covariances, framed.covariances, atol=1e-6)
    assert second.box == box, "the face keeps the box it was given"


def test_with_a_mirror_shift_a_mirrored_photo_is_the_mirror_shifted_right(tmp_path):
    torch.manual_seed(5)
    path = tmp_path / "model.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(channels=16)).eval(), test_time={"flip": True, "mirror_shift": 0.01})
    predictor = LandmarkPredictor.load(path)
    image = np.random.default_rng(6).integers(0, 255, (120, 150, 3), dtype=np.uint8)
    box = (30.0, 20.0, 110.0, 100.0)
    face = predictor.predict(image, [box])[0]
    mirror_face = predictor.predict(image[:, ::-1].copy(), [(149.0 - box[2], box[1], 149.0 - box[0], box[3])])[0]
    # the annotations sit 1% of the crop (1.1 × 80 px) right of the pixel they mark, in both photos
    expected = unmirror(mirror_face.landmarks, mirror_face.covariances, 150)[0] + [2 * 0.01 * 1.1 * 80, 0.0]
    np.testing.assert_allclose(face.landmarks, expected, atol=1e-3)
