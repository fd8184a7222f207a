"""Ranking points and faces for review, and uncertainty geometry."""
import numpy as np
import pytest

from app.document.faces import BoxSource, Face, ImageEntry
from app.document.landmark_geometry import contour_polylines, ellipse_axes, uncertainty_rgb
from app.document.triage import histogram, in_bucket, next_uncertain_point
from uglli_core import FacePrediction


def _face(face_id, scales, annotation_shift=None):
    box = (0.0, 0.0, 100.0, 100.0)
    covariances = np.stack([np.eye(2) * s for s in scales])
    landmarks = np.zeros((68, 2))
    face = Face(face_id, ImageEntry(face_id, f"{face_id}.jpg"), 1, box, BoxSource.MANIFEST,
                prediction=FacePrediction(box, landmarks, covariances))
    if annotation_shift is not None:
        face.annotation = landmarks + annotation_shift
    return face


def test_next_point_walks_down_the_uncertainty_ranking():
    quiet = _face(1, np.full(68, 1.0))
    noisy = _face(2, np.full(68, 1.0))
    noisy.prediction.covariances[5] *= 100   # the most uncertain point anywhere
    quiet.prediction.covariances[7] *= 50    # the second
    faces = [quiet, noisy]
    first = next_uncertain_point(faces)
    assert (first[0], first[1]) == (noisy, 5)
    second = next_uncertain_point(faces, first)
    assert (second[0], second[1]) == (quiet, 7)
    noisy.point_reviewed[5] = True            # reviewed points drop out
    assert next_uncertain_point(faces)[:2] == (quiet, 7)
    quiet.reviewed = True                     # so do accepted faces
    assert next_uncertain_point(faces)[0] is noisy
    noisy.point_reviewed[:] = True
    assert next_uncertain_point(faces) is None


def test_disagreement_is_mean_squared_mahalanobis_distance():
    face = _face(1, np.full(68, 4.0), annotation_shift=np.array([2.0, 0.0]))
    assert face.disagreement == pytest.approx(1.0)  # (2 px)² / 4 px²
    assert _face(2, np.full(68, 4.0)).disagreement is None


def test_ellipse_axes_are_square_roots_of_eigenvalues():
    major, minor, angle = ellipse_axes(np.array([[9.0, 0.0], [0.0, 4.0]]))
    assert (major, minor) == pytest.approx((3.0, 2.0)) and angle % 180 == pytest.approx(0.0)
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    major, minor, angle = ellipse_axes(rotation @ np.diag([9.0, 4.0]) @ rotation.T)
    assert (major, minor) == pytest.approx((3.0, 2.0)) and angle % 180 == pytest.approx(90.0)


def test_contours_and_colours():
    lines = contour_polylines(np.arange(136, dtype=float).reshape(68, 2))
    assert [len(line) for line in lines] == [17, 5, 5, 4, 5, 7, 7, 13, 9]
    assert uncertainty_rgb(0.5)[1] > 150 and uncertainty_rgb(50.0)[0] > 200 and uncertainty_rgb(None) == (160,) * 3


def test_histogram_buckets():
    counts, edges = histogram(np.array([1.0, 1.5, 2.0, 4.0]), bins=3)
    assert counts.tolist() == [2, 1, 1]  # edges 1, 2, 3, 4
    assert in_bucket(4.0, edges[2], edges[3], last=True) and not in_bucket(None, 0, 1, False)
    assert histogram(np.array([3.0]))[0].sum() == 1
