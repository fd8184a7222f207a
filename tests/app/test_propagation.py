"""A correction moves the unreviewed points, in the same undo step as the drag."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.document.landmark_geometry import ellipse_axes
from uglli_core import FacePrediction

CHIN = range(5, 12)
CHIN_DROP = np.array([2.0, 5.0, 9.0, 12.0, 9.0, 5.0, 2.0])     # pixels: the model put the chin too low


@pytest.fixture
def window(unannotated_window):
    """A folder of faces with manifest boxes and no annotation files, the first face
    shown with a prediction that has the chin too low and is unsure of it."""
    window = unannotated_window
    face = window.canvas.face
    assert face.annotation is None
    landmarks, stds = window.truth.copy(), np.full(68, 1.5)
    landmarks[CHIN, 1] += CHIN_DROP
    stds[CHIN] = 8.0
    window.project.record_predictions([(face, FacePrediction(face.box, landmarks, stds[:, None, None] ** 2 * np.eye(2)))])
    assert window.propagation.prior(window.prediction.model_path, wait=True) is not None
    return window


def drag(qtbot, window, index: int, target) -> None:
    """Press on point ``index`` and drag it to ``target`` (image pixels) in a few moves."""
    canvas = window.canvas
    viewport = canvas.viewport()
    start = canvas.mapFromScene(QPointF(*window.canvas.face.points[index]))
    end = canvas.mapFromScene(QPointF(*target))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    assert canvas.selected_point == index
    for share in (0.3, 0.6, 1.0):
        qtbot.mouseMove(viewport, start + QPoint(round(share * (end - start).x()), round(share * (end - start).y())))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def test_a_drag_moves_the_unsure_points_and_one_undo_restores_everything(qtbot, window):
    face, canvas = window.canvas.face, window.canvas
    window.canvas.select_point(45)
    window.actions["toggle_point_reviewed"].trigger()           # a point the reviewer vouched for
    before = face.points.copy()
    ellipse_widths = [canvas._overlay.ellipses[k].rect().width() for k in range(68)]
    steps = window.undo_stack.count()

    drag(qtbot, window, 8, window.truth[8])                      # the chin, to where it belongs
    assert window.undo_stack.count() == steps + 1, "one drag, one undo step"
    assert np.abs(face.points[8] - window.truth[8]).max() < 1.0 and face.point_reviewed[8]
    assert np.array_equal(face.points[45], before[45]), "a reviewed point never moves"
    chin_error_before = np.linalg.norm(before[CHIN] - window.truth[CHIN], axis=1).mean()
    chin_error_after = np.linalg.norm(face.points[CHIN] - window.truth[CHIN], axis=1).mean()
    assert chin_error_after < 0.5 * chin_error_before, "the points beside the chin followed it"
    assert np.abs(face.points[36:48] - before[36:48]).max() < 1.0, "the sure eyes stayed"
    assert not face.point_reviewed[:8].any(), "followed points are not marked reviewed"
    assert canvas._overlay.ellipses[7].rect().width() < 0.8 * ellipse_widths[7], "the chin's ellipses shrink"
    assert "followed the correction" in window.statusBar().currentMessage()
    canvas.select_point(7)
    left = face.shown_prediction.point_uncertainty[7]
    assert left < face.point_uncertainty[7]
    assert f"uncertainty left {left:.2f} %" in window.edit_hint.text(), "the status bar says what the dot shows"

    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(face.points, before) and not face.point_reviewed[8] and face.point_reviewed[45]
    assert face.shown_prediction is face.prediction
    assert canvas._overlay.ellipses[7].rect().width() == pytest.approx(ellipse_widths[7])

    window.undo_stack.redo()
    assert np.abs(face.points[8] - window.truth[8]).max() < 1.0
    assert np.linalg.norm(face.points[CHIN] - window.truth[CHIN], axis=1).mean() == pytest.approx(chin_error_after)


def test_the_legend_says_when_the_ellipses_are_updated_by_a_correction(qtbot, window):
    """After a correction propagates, the ellipses drawn are the fused ones, no longer
    around the model's prediction (the crosses)."""
    legend = window.canvas.legend
    assert "1σ ellipse" in legend.text() and "around its prediction" in legend.text()
    drag(qtbot, window, 8, window.truth[8])
    assert "around its prediction" not in legend.text() and "updated by your corrections" in legend.text()
    assert legend.isVisible() and "✕" in legend.text()
    window.undo_stack.undo()
    assert "around its prediction" in legend.text()


def test_the_dots_are_coloured_like_the_ellipses_by_what_is_left_unsure(qtbot, window):
    """The chin was red (unsure); once the reviewer placed it, it and its neighbours
    are coloured by the fused uncertainty, as their ellipses are, and undo restores."""
    markers, face = window.canvas._overlay.markers, window.canvas.face
    red_before = [markers[k].brush().color().red() for k in CHIN]
    unsure_before = face.shown_prediction.point_uncertainty[CHIN]
    drag(qtbot, window, 8, window.truth[8])
    unsure_after = face.shown_prediction.point_uncertainty[CHIN]
    assert (unsure_after < unsure_before).all(), (unsure_before, unsure_after)
    scale = window.canvas.colours.scale          # the folder's: the fused values on it
    assert [markers[k].brush().color().getRgb()[:3] for k in CHIN] == [scale.rgb(v) for v in unsure_after]
    assert markers[8].brush().color().red() < red_before[CHIN.index(8)], "the placed chin is no longer red"
    assert "the uncertainty left after your corrections" in window.canvas.legend.text()
    window.undo_stack.undo()
    assert [markers[k].brush().color().red() for k in CHIN] == red_before
    assert "coloured by the model's uncertainty" in window.canvas.legend.text()


def test_nudges_propagate_and_the_toggle_turns_propagation_off(qtbot, window):
    face, canvas = window.canvas.face, window.canvas
    canvas.select_point(8)
    before = face.points.copy()
    qtbot.keyClick(canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)   # 10 screen px up
    assert np.allclose(face.points[8], before[8] - (0, 10 / canvas.transform().m11()))
    assert np.abs(face.points[7] - before[7]).max() > 2, "a nudge is a correction too"
    window.undo_stack.undo()

    qtbot.keyClick(canvas, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert not window.actions["propagate"].isChecked()
    drag(qtbot, window, 8, window.truth[8])
    moved = np.flatnonzero(np.abs(face.points - before).max(axis=1) > 0)
    assert list(moved) == [8], "with propagation off only the dragged point moves"
    assert face.shown_prediction is face.prediction


def test_a_face_from_an_annotation_file_is_left_alone(qtbot, make_window, open_and_predict, crops_folder):
    window = make_window()
    open_and_predict(window, crops_folder)
    window.table.selectRow(0)
    face = window.canvas.face
    assert face.annotation is not None
    window.propagation.prior(window.prediction.model_path, wait=True)
    before = face.points.copy()
    drag(qtbot, window, 8, before[8] + (5, 5))
    assert list(np.flatnonzero(np.abs(face.points - before).max(axis=1) > 0)) == [8]


def test_the_ellipses_of_all_points_are_computed_at_once_as_one_by_one():
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(68, 2, 2))
    covariances = factors @ factors.swapaxes(1, 2) + 0.1 * np.eye(2)
    together = np.stack(ellipse_axes(covariances), axis=1)                  # (68, 3)
    one_by_one = np.array([ellipse_axes(c) for c in covariances])
    assert together.shape == (68, 3) and np.allclose(together, one_by_one)
    major, minor, angle = together[5]
    direction = np.radians(angle)
    axis = np.array([np.cos(direction), np.sin(direction)])
    assert axis @ np.linalg.solve(covariances[5], axis) * major ** 2 == pytest.approx(1.0), "on the Mahalanobis-1 ellipse"


def test_a_prediction_with_every_point_in_one_place_gets_a_plain_move(window):
    face = window.canvas.face
    window.project.record_predictions([(face, FacePrediction(face.box, np.full((68, 2), 200.0),
                                                             np.tile(np.eye(2), (68, 1, 1))))])
    window.undo_stack.push(window.propagation.move_command(window.project, face, 8, (200.0, 200.0), None,
                                                           window.prediction.model_path))
    assert np.all(face.points == 200.0) and face.point_reviewed[8] and face.fused is None


def test_a_prediction_already_fused_with_the_prior_meets_it_once(window):
    """The model fused its points with the shape prior; a correction fuses the network's
    own Gaussians with it again, not the answer, which has seen the prior already."""
    face = window.canvas.face
    network = face.prediction
    prior = window.propagation.prior(window.prediction.model_path, wait=True)
    shown, shown_covariances = prior.fuse(network.landmarks, network.covariances, {})
    window.project.record_predictions([(face, FacePrediction(face.box, shown, shown_covariances,
                                                             network.landmarks, network.covariances))])
    assert np.array_equal(face.points, shown)
    xy = tuple(window.truth[8])
    window.undo_stack.push(window.propagation.move_command(window.project, face, 8, xy, None,
                                                           window.prediction.model_path))
    expected, _ = prior.fuse(network.landmarks, network.covariances, {8: xy})
    np.testing.assert_allclose(face.points, expected, atol=1e-9)
    twice, _ = prior.fuse(shown, shown_covariances, {8: xy})
    assert np.abs(twice - expected).max() > 0.05, "fusing the answer again would have moved the points otherwise"
