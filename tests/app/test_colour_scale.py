"""Colours scaled to the open folder: green at its 10th percentile of point
uncertainty, red at its 90th, said in the legend."""
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.document.colour_scale import SAMPLED_FACES, ColourScale, FolderColours, folder_scale
from app.document.faces import BoxSource, Face, ImageEntry
from app.document.landmark_geometry import ALARM_UNCERTAINTY, CALM_UNCERTAINTY
from app.document.project import ProjectEvents
from app.views.face_table import UNCERTAINTY
from uglli_core import FacePrediction

RNG = np.random.default_rng(0)
SQUARE = np.array([[0.0, 0.0], [100.0, 100.0]])   # two corners: every face's points span 100 px


def _prediction(uncertainty, landmarks=None, model=None) -> FacePrediction:
    """A prediction whose points have ``uncertainty`` (one per point, or one for all) in
    percent of the face's size: |Σ|^¼ of an isotropic Σ = s² I is s."""
    if landmarks is None:
        landmarks = np.vstack([SQUARE, RNG.uniform(0, 100, (66, 2))])
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    size = float(np.sqrt(np.prod(hi - lo)))
    sigma = np.broadcast_to(np.asarray(uncertainty, float), (68,)) * size / 100
    return FacePrediction((*lo, *hi), landmarks, np.eye(2) * sigma[:, None, None] ** 2, model=model)


def _face(face_id, uncertainty) -> Face:
    return Face(face_id, ImageEntry(face_id, f"{face_id}.jpg"), 1, (0.0, 0.0, 100.0, 100.0), BoxSource.DETECTOR,
                prediction=_prediction(uncertainty))


def test_green_and_red_are_the_folders_10th_and_90th_percentiles_of_point_uncertainty():
    faces = [_face(k, u) for k, u in enumerate([1.5, 1.6, 1.7, 1.8, 3.2], start=1)]
    faces[0].prediction.covariances[:7] *= 4           # a few points of a sure face twice as unsure
    values = np.concatenate([face.point_uncertainty for face in faces])
    scale = folder_scale(faces)
    assert scale.from_folder
    assert (scale.calm, scale.alarm) == pytest.approx(tuple(np.percentile(values, [10, 90])))
    # the faces of a folder the model is about equally sure of (all green on a fixed 1–8 %
    # scale) are told apart: the surest green, the least sure red
    sure, unsure = scale.rgb(faces[1].uncertainty), scale.rgb(faces[-1].uncertainty)
    assert unsure == scale.rgb(scale.alarm)
    assert unsure[0] - sure[0] > 150 and sure[1] - unsure[1] > 120
    fixed = ColourScale()
    assert abs(fixed.rgb(faces[1].uncertainty)[0] - fixed.rgb(faces[-1].uncertainty)[0]) < 100
    described = scale.describe()
    assert f"≤ {scale.calm:.2f} %" in described and f"≥ {scale.alarm:.2f} %" in described
    assert "this folder's 10th / 90th percentile" in described


def test_the_face_list_is_coloured_by_the_folders_percentiles_of_the_face_score():
    """The face score also counts how far the shape prior moved the network's points, so it
    runs higher than the points' uncertainty: on the points' scale every row would be red."""
    faces = [_face(k, u) for k, u in enumerate([1.5, 1.6, 1.7, 1.8, 3.2], start=1)]
    for face in faces:                  # the network's points a little off the answer, as the prior moves them
        face.prediction.network_landmarks = face.prediction.landmarks + 2.0
        face.prediction.network_covariances = face.prediction.covariances
    scores = np.array([face.uncertainty for face in faces])
    assert scores.min() > folder_scale(faces).alarm, "redder than every point"
    scale = folder_scale(faces, of_faces=True)
    assert (scale.calm, scale.alarm) == pytest.approx(tuple(np.percentile(scores, [10, 90])))
    assert scale.rgb(faces[1].uncertainty)[1] > scale.rgb(faces[-1].uncertainty)[1] + 120   # green, red


def test_a_folder_without_predictions_has_the_fixed_scale_and_equal_points_still_one():
    unpredicted = Face(1, ImageEntry(1, "1.jpg"), 1, (0.0, 0.0, 10.0, 10.0), BoxSource.DETECTOR)
    scale = folder_scale([unpredicted])
    assert (scale.calm, scale.alarm, scale.from_folder) == (CALM_UNCERTAINTY, ALARM_UNCERTAINTY, False)
    assert "nothing predicted yet" in scale.describe()
    same = folder_scale([_face(1, 2.0), _face(2, 2.0)])
    assert same.alarm > same.calm == pytest.approx(2.0)
    assert same.rgb(1.0)[1] > 150 and same.rgb(3.0)[0] > 200


def test_a_large_folder_is_read_from_an_even_sample_of_its_faces():
    faces = [_face(k, 1.0 + (k % 50) / 10) for k in range(3 * SAMPLED_FACES)]
    values = np.concatenate([face.point_uncertainty for face in faces])
    scale = folder_scale(faces)
    assert (scale.calm, scale.alarm) == pytest.approx(tuple(np.percentile(values, [10, 90])), rel=0.02)


def test_the_scale_is_worked_out_again_after_predictions_change_not_after_a_drag():
    faces = [_face(1, 1.0), _face(2, 2.0)]
    project = SimpleNamespace(events=ProjectEvents(), faces=lambda: iter(faces))
    colours = FolderColours(project)
    first = colours.scale
    assert first.alarm < 2.0 + 1e-9
    faces.append(_face(3, 6.0))
    project.events.face_changed.emit(faces[0])              # a drag: the points, not the Gaussians
    assert colours.scale is first
    project.events.predictions_changed.emit([faces[2]])
    assert colours.scale.alarm == pytest.approx(6.0)
    faces.pop()
    project.events.faces_changed.emit(faces[0].image)        # a face deleted
    assert colours.scale.alarm < 2.0 + 1e-9
    assert FolderColours().scale == ColourScale()           # no folder open


def _marker_colours(canvas) -> np.ndarray:
    return np.array([marker.brush().color().getRgb()[:3] for marker in canvas._overlay.markers], float)


def _click_row(qtbot, window, face) -> None:
    table = window.table
    rect = table.visualRect(window.faces.index(window.faces.row_of(face), 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.canvas.face is face


def test_two_faces_of_very_different_uncertainty_get_clearly_different_colours(qtbot, make_window,
                                                                            open_and_predict, crops_folder):
    window = make_window()
    project = open_and_predict(window, crops_folder)
    faces = sorted(project.faces(), key=lambda face: face.id)
    # four faces the model is about equally sure of, and a false box on hair it is much less sure of
    levels = [1.6, 1.7, 1.8, 1.9, 3.6]
    project.record_predictions([(face, _prediction(level, face.prediction.landmarks, face.prediction.model))
                                for face, level in zip(faces, levels)])
    sure, unsure = faces[0], faces[-1]
    _click_row(qtbot, window, sure)
    sure_colours = _marker_colours(window.canvas)
    legend = window.canvas.legend.text()
    _click_row(qtbot, window, unsure)
    unsure_colours = _marker_colours(window.canvas)
    assert (unsure_colours[:, 0] - sure_colours[:, 0]).min() > 150     # green dots, red dots
    assert (sure_colours[:, 1] - unsure_colours[:, 1]).min() > 120
    scale = window.canvas.colours.scale
    assert f"≤ {scale.calm:.2f} %" in legend and f"≥ {scale.alarm:.2f} %" in legend and "10th / 90th" in legend
    assert scale.calm == pytest.approx(1.6, abs=0.11) and scale.alarm == pytest.approx(3.6)
    # the face list colours the same way
    table = window.faces

    def background(face):
        return np.array(table.data(table.index(table.row_of(face), UNCERTAINTY),
                                   Qt.ItemDataRole.BackgroundRole).color().getRgb()[:3], float)

    assert background(unsure)[0] - background(sure)[0] > 150
