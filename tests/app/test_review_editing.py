"""Editing and seeing in the canvas, driven by real key presses and mouse drags: nudges in
screen pixels, the next uncertain point of the face shown, grabbing and deliberate
panning, undo that shows what it undoes, and the small things (d², Fit Face, the
legend, the How to Review page)."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.document.faces import BoxSource, Face, ImageEntry
from app.document.triage import next_uncertain_point
from app.window.session import LEGEND_KEY, settings
from uglli_core import FacePrediction
from uglli_core.maths.metrics import mahalanobis_squared

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
OFF_IMAGE = 30        # the point the crafted prediction puts off the photo


@pytest.fixture
def crafted_window(unannotated_window):
    """The crops without annotations; the face shown carries a prediction whose points
    are all unsure by a different amount, the most unsure of all lying off the photo."""
    window = unannotated_window
    face = window.canvas.face
    landmarks = window.truth.copy()
    landmarks[OFF_IMAGE] = (-15.0, landmarks[OFF_IMAGE, 1])
    stds = 1.0 + np.random.default_rng(0).permutation(68) * 0.05
    stds[OFF_IMAGE] = 10.0
    window.project.record_predictions([(face, FacePrediction(face.box, landmarks, stds[:, None, None] ** 2 * np.eye(2)))])
    assert face.image.size is not None and face.points[OFF_IMAGE, 0] < -0.5
    return window


def _scroll(canvas) -> tuple[int, int]:
    return canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value()


def _on_screen(canvas, xy) -> QPoint:
    return canvas.mapFromScene(QPointF(*xy))


def _drag(qtbot, widget, start: QPoint, offset: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    qtbot.mousePress(widget, button, pos=start)
    for share in (0.3, 0.6, 1.0):
        qtbot.mouseMove(widget, start + QPoint(round(share * offset.x()), round(share * offset.y())))
    qtbot.mouseRelease(widget, button, pos=start + offset)


# 1. nudges -----------------------------------------------------------------------------
def test_nudges_step_in_screen_pixels_sub_pixel_when_zoomed_in(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    face = canvas.face
    canvas.select_point(8)
    canvas.zoom(8.0)
    pixel = 1 / canvas.transform().m11()
    assert pixel < 0.5, "zoomed in, a screen pixel is a fraction of an image pixel"
    start = face.points[8].copy()
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert np.allclose(face.points[8], start + (pixel, 0))
    qtbot.keyClick(canvas, Qt.Key.Key_Up, SHIFT)
    assert np.allclose(face.points[8], start + (pixel, -10 * pixel))
    canvas.fit_image()
    canvas.zoom(0.25)
    pixel = 1 / canvas.transform().m11()
    assert pixel > 1.5, "zoomed out, a nudge is coarser"
    before = face.points[8].copy()
    qtbot.keyClick(canvas, Qt.Key.Key_Left, SHIFT)
    assert np.allclose(face.points[8], before - (10 * pixel, 0))
    assert window.undo_stack.count() == 3


# 2. the next uncertain point of the face shown ---------------------------------------
def test_shift_u_walks_the_face_shown_by_uncertainty_off_photo_points_last(qtbot, crafted_window):
    window, canvas = crafted_window, crafted_window.canvas
    face = canvas.face
    canvas.fit_face()
    inside = [int(k) for k in np.argsort(-face.point_uncertainty, kind="stable") if k != OFF_IMAGE]
    assert np.argmax(face.point_uncertainty) == OFF_IMAGE
    view = _scroll(canvas), canvas.transform().m11()
    walked = []
    for _ in range(68):
        qtbot.keyClick(canvas, Qt.Key.Key_U, SHIFT)
        walked.append(canvas.selected_point)
        assert canvas.face is face, "the face shown stays"
    assert walked == inside + [OFF_IMAGE], "by falling uncertainty; the point off the photo last"
    assert (_scroll(canvas), canvas.transform().m11()) == view, "every point was in view: the view stayed"
    assert f"Point {OFF_IMAGE}" in window.edit_hint.text()

    canvas.zoom(6.0, QPointF(2, 2))              # a close look at a corner: the next point is out of view
    scale = canvas.transform().m11()
    qtbot.keyClick(canvas, Qt.Key.Key_U, SHIFT)
    x, y = face.points[canvas.selected_point]
    assert canvas.viewport().rect().contains(_on_screen(canvas, (x, y)))
    assert canvas.transform().m11() == scale, "scrolled to it, not zoomed"

    face.point_reviewed[:] = True
    qtbot.keyClick(canvas, Qt.Key.Key_U, SHIFT)
    assert "No unreviewed point left in this face" in window.statusBar().currentMessage()


def test_next_point_key_scrolls_only_when_the_point_leaves_the_view(qtbot, reviewed_window):
    canvas = reviewed_window.canvas
    canvas.fit_face()
    view = _scroll(canvas)
    for index in range(3):
        qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
        assert canvas.selected_point == index
    assert _scroll(canvas) == view, "no recentring on every point"
    canvas.zoom(6.0, QPointF(2, 2))
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.viewport().rect().contains(_on_screen(canvas, canvas.face.points[3]))


def test_the_folder_wide_ranking_puts_points_off_the_photo_last():
    def face(face_id, scales, off=()):
        box = (0.0, 0.0, 100.0, 100.0)
        landmarks = np.full((68, 2), 50.0)
        landmarks[list(off)] = (120.0, 50.0)             # right of a 100 px wide photo
        image = ImageEntry(face_id, f"{face_id}.jpg", size=(100, 100))
        made = Face(face_id, image, 1, box, BoxSource.MANIFEST,
                    prediction=FacePrediction(box, landmarks, np.stack([np.eye(2) * s for s in scales])))
        image.faces.append(made)
        return made

    scales = np.full(68, 1.0)
    scales[5], scales[7] = 100.0, 50.0
    outside = face(1, scales, off=[5])        # its most uncertain point is off the photo
    inside = face(2, np.full(68, 2.0))
    faces = [outside, inside]
    assert next_uncertain_point(faces) == (outside, 7)
    walked = [next_uncertain_point(faces)]
    while len(walked) < 2 * 68:
        walked.append(next_uncertain_point(faces, walked[-1]))
    assert walked[-1] == (outside, 5), "checked last"
    assert len(set(walked)) == 2 * 68, "every point once"


# 3. grabbing and panning ----------------------------------------------------------------
def test_a_point_is_grabbed_on_its_dot_only_and_panning_is_deliberate(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    face, viewport = canvas.face, canvas.viewport()
    canvas.fit_face()
    before = face.points.copy()
    chin = _on_screen(canvas, face.points[8])
    near = chin + QPoint(0, 8)        # just off the chin's dot: the old 9-pixel reach took it
    distances = [np.hypot(p.x() - near.x(), p.y() - near.y()) for p in (_on_screen(canvas, xy) for xy in face.points)]
    radius = canvas._overlay.markers[8].rect().width() / 2     # the dot as drawn, in screen pixels
    assert min(distances) > radius + 2 and distances[8] < 9
    view = _scroll(canvas)
    _drag(qtbot, viewport, near, QPoint(0, -40))
    assert np.array_equal(face.points, before) and window.undo_stack.index() == 0, "a drag off the dots moves none"
    assert _scroll(canvas) == view, "nor does a plain drag pan"

    _drag(qtbot, viewport, chin + QPoint(0, round(radius)), QPoint(0, -20))   # on the dot's edge
    assert canvas.selected_point == 8 and face.points[8][1] < before[8][1] and window.undo_stack.index() == 1
    window.undo_stack.undo()

    eye = _on_screen(canvas, face.points[37])
    _drag(qtbot, viewport, eye, QPoint(40, 30), Qt.MouseButton.MiddleButton)
    assert _scroll(canvas) != view and np.array_equal(face.points, before), "a middle drag pans, even on a point"
    view = _scroll(canvas)
    eye = _on_screen(canvas, face.points[37])
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    assert viewport.cursor().shape() == Qt.CursorShape.OpenHandCursor
    _drag(qtbot, viewport, eye, QPoint(-40, 20))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert _scroll(canvas) != view and np.array_equal(face.points, before), "Space + drag pans, even from a point"
    assert window.undo_stack.index() == 0 and viewport.cursor().shape() == Qt.CursorShape.ArrowCursor


# 4. undo shows what it undoes ----------------------------------------------------------------
def test_undo_and_redo_bring_the_face_they_change_into_view(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    first = canvas.face
    canvas.select_point(8)
    start = first.points[8].copy()
    qtbot.keyClick(canvas, Qt.Key.Key_Right, SHIFT)
    moved = first.points[8].copy()
    qtbot.keyClick(canvas, Qt.Key.Key_N)
    assert canvas.face is not first and canvas.image is not first.image

    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.allclose(first.points[8], start)
    assert canvas.face is first and canvas.face_in_view(first)
    assert window.faces.row_at(window.table.currentIndex().row()).face is first
    assert window.face_list.selected_faces() == [first], "its row alone, though Ctrl is held"
    assert "Undone: Move point 8" in window.statusBar().currentMessage()

    qtbot.keyClick(canvas, Qt.Key.Key_N)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.allclose(first.points[8], moved) and canvas.face is first
    assert window.face_list.selected_faces() == [first], "its row alone, though Shift is held"

    canvas.zoom(10.0, QPointF(2, 2))
    canvas.centerOn(QPointF(-first.image.size[0], -first.image.size[1]))   # the face shown, looked at elsewhere
    assert not canvas.face_in_view(first)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert canvas.face_in_view(first)

    qtbot.keyClick(canvas, Qt.Key.Key_X)           # not a face: deleted, the next one shown
    assert first not in first.image.faces and canvas.face is not first
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert first in first.image.faces and canvas.face is first and canvas.face_in_view(first)


# 7. small things ---------------------------------------------------------------------------
def test_the_status_bar_d2_follows_the_point_when_it_moves(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    face = canvas.face
    canvas.fit_face()
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=_on_screen(canvas, face.points[8]))
    assert canvas.selected_point == 8

    def d2() -> str:
        prediction = face.prediction
        value = mahalanobis_squared(face.points[8], prediction.landmarks[8], prediction.covariances[8])
        return f"d² {value:.1f}"

    first = d2()
    assert first in window.edit_hint.text()
    for _ in range(5):
        qtbot.keyClick(canvas, Qt.Key.Key_Right, SHIFT)
    assert d2() != first and d2() in window.edit_hint.text() and first not in window.edit_hint.text()


def test_fit_face_after_fit_image_centres_the_face_not_its_box(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    face = canvas.face
    x0, y0, x1, y1 = face.box
    window.project.set_box(face, (x0 + 60, y0 + 40, x1 + 60, y1 + 40))   # a box sitting off the face
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    qtbot.keyClick(canvas, Qt.Key.Key_F, SHIFT)
    (px0, py0), (px1, py1) = face.points.min(axis=0), face.points.max(axis=0)
    middle = _on_screen(canvas, ((px0 + px1) / 2, (py0 + py1) / 2))
    centre = canvas.viewport().rect().center()
    assert abs(middle.x() - centre.x()) <= 2 and abs(middle.y() - centre.y()) <= 2
    shown = canvas.mapFromScene(QRectF(px0, py0, px1 - px0, py1 - py0)).boundingRect()
    assert canvas.viewport().rect().contains(shown)


def test_the_legend_keeps_out_of_the_face_and_hides_remembered(qtbot, make_window, open_and_predict, crops_folder):
    window = make_window()
    open_and_predict(window, crops_folder)
    window.table.selectRow(0)
    canvas = window.canvas
    face, legend = canvas.face, canvas.legend
    canvas.fit_face()
    (x0, y0), (x1, y1) = face.points.min(axis=0), face.points.max(axis=0)
    canvas.centerOn(QPointF(x1, y0))       # the face now in the bottom-left of the view
    face_rect = canvas.mapFromScene(QRectF(x0, y0, x1 - x0, y1 - y0)).boundingRect().translated(
        canvas.viewport().pos())
    assert legend.isVisible() and not legend.geometry().intersects(face_rect)
    assert canvas.viewport().geometry().contains(legend.geometry())

    assert window.actions["show_legend"].isChecked()
    window.actions["show_legend"].trigger()          # View → Legend
    assert not legend.isVisible()
    qtbot.keyClick(canvas, Qt.Key.Key_N)
    assert not legend.isVisible(), "it stays hidden on the next face"
    window.close()
    try:
        again = make_window()
        again.open_folder(crops_folder)     # predicted already: nothing to wait for
        again.table.selectRow(0)
        assert not again.actions["show_legend"].isChecked() and not again.canvas.legend.isVisible()
        again.actions["show_legend"].trigger()
        assert again.canvas.legend.isVisible()
    finally:
        settings().remove(LEGEND_KEY)


def test_f1_has_a_how_to_review_page_beside_the_keys(qtbot, make_window, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    seen = {}

    def look():
        dialog = QApplication.activeModalWidget()
        if dialog is None:                      # not open yet
            QTimer.singleShot(10, look)
            return
        dialog.reject()                         # first: whatever it lacks, it closes
        pages = dialog.pages
        seen["tabs"] = [pages.tabText(k) for k in range(pages.count())]
        seen["guide"] = dialog.guide.toPlainText()

    QTimer.singleShot(0, look)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)      # a shortcut needs its window active
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert seen["tabs"] == ["Keys", "How to Review"]
    guide = seen["guide"]
    assert "The day's loop" in guide and "What the marks mean" in guide and "Shift+U" in guide
    assert "1σ ellipse" in guide and "Space" in guide


def test_closing_the_folder_takes_its_name_out_of_the_title(qtbot, make_window, crops_folder, tmp_path):
    window = make_window(model=tmp_path / "none.pt")
    assert window.open_folder(crops_folder)
    assert crops_folder.name in window.windowTitle()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)            # File → Close Folder
    assert window.project is None and window.windowTitle() == "UGLLI Review"
