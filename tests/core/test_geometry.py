import cv2
import numpy as np
import pytest

from uglli_core.maths.geometry import (MIRROR_68, TURNS, crop_transform, similarity_about, transform_covariances,
                                       transform_points, warp)


@pytest.mark.parametrize("turn", TURNS)   # a face turned in its photo is cut turned back
def test_crop_then_uncrop_returns_points_and_covariances(turn):
    rng = np.random.default_rng(1)
    to_crop = crop_transform((37.5, 80.0, 290.0, 301.0), 128, turn=turn)
    points = rng.uniform(0, 400, (68, 2))
    factors = rng.normal(size=(68, 2, 2))
    covariances = factors @ factors.swapaxes(1, 2) + 0.1 * np.eye(2)
    back = np.linalg.inv(to_crop)
    np.testing.assert_allclose(transform_points(back, transform_points(to_crop, points)), points, atol=1e-9)
    np.testing.assert_allclose(transform_covariances(back, transform_covariances(to_crop, covariances)),
                               covariances, atol=1e-9)


def test_crop_is_centred_on_the_box_with_ten_percent_context():
    to_crop = crop_transform((100, 50, 300, 200), 128)   # 200 wide, 150 high
    centre = transform_points(to_crop, np.array([[200.0, 125.0]]))[0]
    np.testing.assert_allclose(centre, [63.5, 63.5])
    assert to_crop[0, 0] == pytest.approx(128 / 220)


def test_covariance_scales_with_the_square_of_the_zoom():
    to_crop = crop_transform((0, 0, 110, 110), 242)      # zoom × 2
    sigma = np.array([[[4.0, 1.0], [1.0, 3.0]]])
    np.testing.assert_allclose(transform_covariances(to_crop, sigma), 4 * sigma)


def test_mirror_twice_is_the_identity():
    mirror = similarity_about((63.5, 63.5), flip_width=128)
    points = np.random.default_rng(2).uniform(0, 127, (68, 2))
    np.testing.assert_allclose(transform_points(mirror @ mirror, points), points, atol=1e-9)
    np.testing.assert_array_equal(MIRROR_68[MIRROR_68], np.arange(68))
    assert (MIRROR_68[[36, 45, 48, 54, 30]] == [45, 36, 54, 48, 30]).all()


def test_rotation_about_the_centre_keeps_the_centre():
    turn = similarity_about((63.5, 63.5), scale=1.2, angle_deg=30, shift=(2, -3))
    np.testing.assert_allclose(transform_points(turn, np.array([[63.5, 63.5]]))[0], [65.5, 60.5])


@pytest.mark.parametrize("image_size, box", [(400, (100, 120, 180, 200)), (4000, (1000, 1200, 2600, 2800))])
def test_warped_pixels_land_where_the_points_go(image_size, box):
    """A bright dot in the image appears in the crop where transform_points puts it,
    also on the area-averaged path used for strong downscaling."""
    image = np.zeros((image_size, image_size, 3), np.uint8)
    dot = np.array([box[0] + 0.3 * (box[2] - box[0]), box[1] + 0.6 * (box[3] - box[1])])
    radius = max(2, image_size // 200)
    cv2.circle(image, tuple(int(v) for v in dot), radius, (255, 255, 255), -1)
    to_crop = crop_transform(box, 128)
    crop = warp(image, to_crop, 128).astype(float)[:, :, 0]
    ys, xs = np.mgrid[:128, :128]
    found = np.array([(crop * xs).sum(), (crop * ys).sum()]) / crop.sum()
    expected = transform_points(to_crop, (dot.astype(int))[None])[0]
    np.testing.assert_allclose(found, expected, atol=0.35)


def test_a_box_outside_the_image_gives_a_black_crop():
    image = np.full((100, 100, 3), 255, np.uint8)
    assert warp(image, crop_transform((5000, 5000, 9000, 9000), 64), 64).max() == 0
