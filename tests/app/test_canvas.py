"""The canvas: overlays drawn from the model, mouse editing, boxes."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QGraphicsItem

from app.document.landmark_geometry import ellipse_axes


def test_overlay_follows_the_face_and_the_toggles(reviewed_window):
    window = reviewed_window
    canvas, face = window.canvas, window.canvas.face
    overlay = canvas._overlay
    for index in (0, 33, 67):
        marker = overlay.markers[index]
        assert np.allclose((marker.pos().x(), marker.pos().y()), face.points[index])
        assert marker.flags() & QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
        major, minor, angle = ellipse_axes(face.prediction.covariances[index])
        ellipse = overlay.ellipses[index]
        assert ellipse.rect().width() == pytest.approx(2 * major) and ellipse.rect().height() == pytest.approx(2 * minor)
        assert ellipse.rotation() == pytest.approx(angle)
        assert np.allclose((ellipse.pos().x(), ellipse.pos().y()), face.prediction.landmarks[index])
    assert overlay.ellipses[0].isVisible() and overlay.contours.isVisible() and not overlay.numbers[0].isVisible()
    window.actions["show_ellipses"].trigger()
    window.actions["show_contours"].trigger()
    window.actions["show_numbers"].trigger()
    assert not overlay.ellipses[0].isVisible() and not overlay.contours.isVisible() and overlay.numbers[0].isVisible()


def test_points_keep_their_size_on_screen_when_zooming(reviewed_window):
    canvas = reviewed_window.canvas
    marker = canvas._overlay.markers[10]

    def on_screen_width():
        return marker.deviceTransform(canvas.viewportTransform()).mapRect(marker.boundingRect()).width()

    before = on_screen_width()
    canvas.zoom(3.0)
    assert on_screen_width() == pytest.approx(before)


def test_a_plain_click_never_moves_a_point_ctrl_click_places_it(qtbot, reviewed_window):
    window = reviewed_window
    canvas, face = window.canvas, window.canvas.face
    window.actions["next_point"].trigger()          # selects point 0
    assert canvas.selected_point == 0
    assert "Point 0" in window.edit_hint.text() and "Ctrl+click" in window.edit_hint.text()
    before = face.points.copy()
    viewport_pos = canvas.mapFromScene(QPointF(*face.points[8]) + QPointF(3, -20))  # empty image
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=viewport_pos)
    assert np.array_equal(face.points, before) and window.undo_stack.count() == 0
    assert canvas.selected_point == -1 and "Click a point" in window.edit_hint.text()

    window.actions["next_point"].trigger()
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     pos=viewport_pos)
    placed = canvas.mapToScene(viewport_pos)
    assert np.allclose(face.points[0], (placed.x(), placed.y()))
    window.actions["nudge_right_far"].trigger()
    window.actions["nudge_up"].trigger()
    pixel = 1 / canvas.transform().m11()      # a nudge steps in screen pixels
    assert np.allclose(face.points[0], (placed.x() + 10 * pixel, placed.y() - pixel))
    assert window.undo_stack.count() == 3 and face.point_reviewed[0]
    window.actions["toggle_point_reviewed"].trigger()
    assert not face.point_reviewed[0]


def _wheel(canvas, position: QPoint, notches: int = 1) -> None:
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    viewport = canvas.viewport()
    event = QWheelEvent(QPointF(position), QPointF(viewport.mapToGlobal(position)), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def test_wheel_and_plus_zoom_about_the_pixel_under_the_cursor(qtbot, reviewed_window):
    from PySide6.QtGui import QCursor

    canvas = reviewed_window.canvas
    viewport = canvas.viewport()
    for zoom_in in (lambda spot: _wheel(canvas, spot), lambda spot: reviewed_window.actions["zoom_in"].trigger()):
        spot = QPoint(viewport.width() // 4, viewport.height() // 3)   # far from the centre
        QCursor.setPos(viewport.mapToGlobal(spot))
        under = canvas.mapToScene(spot)
        scale = canvas.transform().m11()
        zoom_in(spot)
        assert canvas.transform().m11() > 1.1 * scale
        still = canvas.mapFromScene(under)
        assert abs(still.x() - spot.x()) <= 1 and abs(still.y() - spot.y()) <= 1


def test_the_view_is_fitted_again_when_the_canvas_is_resized_until_the_reviewer_zooms(qtbot, reviewed_window):
    window, canvas = reviewed_window, reviewed_window.canvas
    canvas.fit_image()

    def image_fills_the_view() -> bool:
        shown = canvas.mapFromScene(canvas._pixmap_item.sceneBoundingRect()).boundingRect()
        viewport = canvas.viewport().rect()
        return viewport.adjusted(-2, -2, 2, 2).contains(shown) and (
            shown.width() >= viewport.width() - 4 or shown.height() >= viewport.height() - 4)

    assert image_fills_the_view()
    window.resize(900, 650)
    qtbot.waitUntil(lambda: canvas.viewport().height() < 560)
    assert image_fills_the_view()
    assert canvas.width() >= 400, "the side panel gives way to the image"
    canvas.zoom(2.0)
    window.resize(1200, 800)
    qtbot.waitUntil(lambda: canvas.viewport().height() > 600)
    assert not image_fills_the_view(), "a zoom the reviewer chose is kept"


def test_prediction_and_annotation_are_both_drawn_with_a_legend(reviewed_window):
    window = reviewed_window
    canvas, face = window.canvas, window.canvas.face
    overlay = canvas._overlay
    assert face.source.value == "annotation"
    for index in (0, 36):
        cross = overlay.crosses[index]
        assert cross.isVisible()
        assert np.allclose((cross.pos().x(), cross.pos().y()), face.prediction.landmarks[index])
        assert np.allclose((overlay.markers[index].pos().x(), overlay.markers[index].pos().y()), face.points[index])
    legend = canvas.legend.text()
    assert canvas.legend.isVisible() and "annotation (.pts file)" in legend and "✕" in legend and "ellipse" in legend
    window.navigation.step_face(1)   # another image, fitted and scrolled: the legend stays in a corner
    canvas.zoom(3.0)
    canvas.centerOn(QPointF(*canvas.face.points[0]))
    legend = canvas.legend.geometry()
    viewport = canvas.viewport().geometry()
    assert viewport.contains(legend)
    assert min(legend.left() - viewport.left(), viewport.right() - legend.right()) < 20
    assert min(legend.top() - viewport.top(), viewport.bottom() - legend.bottom()) < 20
    window.actions["show_ellipses"].trigger()
    assert not overlay.crosses[0].isVisible() and "✕" not in canvas.legend.text()


def test_points_shrink_with_a_face_that_is_small_on_screen(make_window, open_and_predict, photos_folder):
    window = make_window()
    open_and_predict(window, photos_folder)
    canvas = window.canvas
    window.navigation.select_face(next(f for f in window.project.faces() if f.prediction is not None))
    marker = canvas._overlay.markers[10]

    def on_screen_width():
        return marker.deviceTransform(canvas.viewportTransform()).mapRect(marker.boundingRect()).width()

    canvas.fit_face()
    close_up = on_screen_width()
    canvas.fit_image()
    assert on_screen_width() < 0.8 * close_up
    assert canvas._overlay.crosses[0].isVisible() is False, "the dots are the prediction: no crosses"
    assert "the model's prediction" in canvas.legend.text()


def test_face_boxes_are_drawn_moved_and_deleted_by_hand(qtbot, reviewed_window):
    window = reviewed_window
    canvas = window.canvas
    image = canvas.image
    face = canvas.face
    window.actions["box_mode"].trigger()
    canvas.fit_image()
    viewport = canvas.viewport()

    # Draw a new box in the image's top-left corner, outside the face box.
    corner = canvas.mapFromScene(QPointF(2, 2))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=corner)
    qtbot.mouseMove(viewport, corner + QPoint(20, 20))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=corner + QPoint(40, 40))
    assert len(image.faces) == 2
    new = image.faces[1]
    assert new.box_source.value == "manual" and canvas.face is new

    # Move the new box: one undo step; the prediction follows the box.
    start = QPointF((new.box[0] + new.box[2]) / 2, (new.box[1] + new.box[3]) / 2)
    with qtbot.waitSignal(window.prediction_done, timeout=30_000):
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(start))
        for step in (5, 10, 15):
            qtbot.mouseMove(viewport, canvas.mapFromScene(start) + QPoint(step, step))
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(start) + QPoint(15, 15))
    assert window.undo_stack.count() == 2 and new.prediction is not None and new.prediction.box == new.box

    window.actions["delete_faces"].trigger()
    assert image.faces == [face]
    window.actions["undo"].trigger()
    assert new in image.faces
    window.undo_stack.undo(), window.undo_stack.undo()
    assert image.faces == [face]


def test_decoded_images_are_kept_in_a_memory_bounded_lru(tmp_path, qapp):
    import cv2

    from app.views.image_cache import PixmapCache
    from uglli_core import ImageReadError

    paths = []
    for k in range(5):
        paths.append(tmp_path / f"{k}.png")
        cv2.imwrite(str(paths[-1]), np.full((20, 30, 3), 10 * k, np.uint8))
    probe = PixmapCache()
    probe.get(paths[0])
    cache = PixmapCache(budget_bytes=3 * probe.size_bytes())
    for k, path in enumerate(paths):
        assert cache.get(path).toImage().pixelColor(0, 0).red() == 10 * k
    assert len(cache) == 3 and cache.size_bytes() <= cache.budget_bytes
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.zeros((200, 300, 3), np.uint8))
    assert cache.get(big).width() == 300 and len(cache) == 1, "the newest image stays even over budget"
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ImageReadError):
        cache.get(tmp_path / "bad.png")


def test_the_view_follows_changes_made_to_the_model(reviewed_window):
    window = reviewed_window
    project, face = window.project, window.canvas.face
    project.move_point(face, 12, (50.0, 60.0))
    project.set_face_reviewed(face, True)
    marker = window.canvas._overlay.markers[12]
    assert (marker.pos().x(), marker.pos().y()) == (50.0, 60.0)
    row = window.faces.row_of(face)
    assert window.faces.data(window.faces.index(row, 4)) == "✓"
    assert "edited" in window.faces.data(window.faces.index(row, 5))


def test_an_annotation_is_drawn_on_the_pixel_its_file_names(qtbot, make_window, open_and_predict, tmp_path):
    """A .pts file says (11, 21) for the pixel at column 10, row 20 (1-based, 300-W's
    convention): the marker sits on that pixel's centre on screen."""
    import cv2

    from uglli_core.files.pts import N_LANDMARKS
    image = np.zeros((120, 100, 3), np.uint8)
    image[20, 10] = 255
    cv2.imwrite(str(tmp_path / "dot.png"), image)
    points = np.tile([[40.0, 50.0]], (N_LANDMARKS, 1)) + np.arange(N_LANDMARKS)[:, None] * 0.5
    points[30] = (11.0, 21.0)
    body = "\n".join(f"{x} {y}" for x, y in points)
    (tmp_path / "dot.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    window = make_window()
    open_and_predict(window, tmp_path)
    window.table.selectRow(0)
    canvas = window.canvas
    marker = canvas._overlay.markers[30]
    assert (marker.pos().x(), marker.pos().y()) == (10.0, 20.0)
    # where the marker falls in the pixmap as drawn: the centre of the bright pixel
    item = canvas._pixmap_item
    local = item.mapFromScene(marker.pos()) - item.offset()       # pixmap pixels, edges at integers
    assert (local.x(), local.y()) == (10.5, 20.5)
    assert item.pixmap().toImage().pixelColor(10, 20).red() == 255
