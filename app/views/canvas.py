"""The image canvas: shows one image with the face under review, and turns the mouse
into edit requests (signals); the main window makes them undoable commands.

Mouse, point mode: a press on a point's dot (within a few pixels of its edge) selects
it and a drag moves it (one gesture); a click or drag elsewhere never moves a point:
a click selects the face whose box was clicked, or deselects the point. Ctrl+click
places the selected point (an explicit act). Panning is deliberate, as in image
editors: a middle-button drag, or a left drag with Space held; the wheel zooms about
the cursor. Box mode: drag inside a box moves it, drag its corner handle resizes it,
drag elsewhere draws a new box.

The view remembers whether it fits the image or the face and fits it again when the
canvas is resized, until the reviewer zooms or pans. Points and pen widths shrink
with a face that is small on screen (see :meth:`FaceOverlay.set_mark_scale`).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QGuiApplication, QMouseEvent, QPainter, QPixmap, QTextOption, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsTextItem, QGraphicsView

from ..document.colour_scale import FolderColours
from ..document.faces import Face, ImageEntry
from .canvas_items import HANDLE_SIZE, OVERLAYS, FaceOverlay, add_box_items, cosmetic_pen
from .canvas_legend import CanvasLegend

PICK_SLACK = 2.0          # screen pixels beyond the edge of a point's dot that a press still takes it
DRAG_THRESHOLD = 3.0      # screen pixels a press must travel to count as a drag
MIN_BOX = 4.0             # image pixels: smaller new boxes are taken for clicks
FACE_MARGIN = 0.35        # fit a face with this share of its size around it
FULL_SIZE_FACE = 240.0    # screen pixels: a face at least this big gets full-size points
SMALLEST_MARKS = 0.35     # points of a tiny face shrink to this share of their size, no less
MINIMUM_SIZE = (480, 360)  # a narrow window squeezes the side panels, not the image
PLACE_MODIFIER = Qt.KeyboardModifier.ControlModifier   # held while clicking: place the selected point
MESSAGE_MARGIN = 24       # screen pixels between a message shown instead of an image and the view's sides
MESSAGE_SCALE = 1.3       # a message is a little larger than the window's text


class FaceCanvas(QGraphicsView):
    point_selected = Signal(int)                   # index, -1 for none
    point_dragged = Signal(int, float, float, int)  # index, x, y, gesture
    point_placed = Signal(int, float, float)       # index, x, y
    face_clicked = Signal(object)                  # Face
    box_drawn = Signal(tuple)                      # (x0, y0, x1, y1)
    box_dragged = Signal(object, tuple, int)       # Face, box, gesture
    box_gesture_finished = Signal()                # a box was moved or resized: it needs a new prediction

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QColor(40, 40, 44))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # zoom() keeps its own anchor
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)          # resizeEvent refits instead
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(*MINIMUM_SIZE)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pan by dragging
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.shown = {name: True for name in OVERLAYS} | {"numbers": False}
        self.box_mode = False
        self.image: ImageEntry | None = None
        self.face: Face | None = None
        self.selected_point = -1
        self.colours = FolderColours()   # the open folder's colour scale, set by the window
        self._pixmap_item: QGraphicsPixmapItem | None = None
        self._message_item: QGraphicsTextItem | None = None
        self._overlay = FaceOverlay()  # made once: rebuilding 200 items per image is slow
        self.scene().addItem(self._overlay)
        self.legend = CanvasLegend(self)  # not the viewport's child: scrolling the view would move it
        self._box_items: list = []
        self._gesture = 0
        self._press: dict | None = None  # what the current mouse press is doing
        self._fitted: str | None = None  # "image" or "face" while the view fits it; None once zoomed or panned
        self._space_held = False          # Space held down: a left drag pans

    # -- what is shown -----------------------------------------------------------------
    def show_image(self, image: ImageEntry | None, pixmap: QPixmap | None, message: str = "") -> None:
        """A new image (or, with no pixmap, a message saying why there is none)."""
        scene = self.scene()
        for item in [self._pixmap_item, self._message_item, *self._box_items]:
            if item is not None:
                scene.removeItem(item)
        self._box_items, self._pixmap_item, self._message_item = [], None, None
        self.image, self.face, self.selected_point = image, None, -1
        self._overlay.setVisible(False)
        self.legend.hide()
        if pixmap is None:
            self._message_item = self._message(message or "No image")
            scene.addItem(self._message_item)
            self._fitted = None
            self._place_message()
            return
        self._pixmap_item = scene.addPixmap(pixmap)
        self._pixmap_item.setOffset(-0.5, -0.5)  # pixel centres at integer coordinates, like the .pts files
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        bounds = self._pixmap_item.sceneBoundingRect()
        margin = max(bounds.width(), bounds.height())  # so that points near an edge can be centred
        scene.setSceneRect(bounds.adjusted(-margin, -margin, margin, margin))
        self.fit_image()

    @staticmethod
    def _message(text: str) -> QGraphicsTextItem:
        item = QGraphicsTextItem(text)
        item.setDefaultTextColor(QColor(230, 230, 230))
        font = item.font()
        font.setPointSizeF(font.pointSizeF() * MESSAGE_SCALE)
        item.setFont(font)
        option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # a long file name too
        item.document().setDefaultTextOption(option)
        return item

    def _place_message(self) -> None:
        """The message at the text's own size (whatever the zoom of the last image),
        wrapped to the view's width, centred."""
        self.resetTransform()
        self._message_item.setTextWidth(max(self.viewport().width() - 2 * MESSAGE_MARGIN, 1))
        self.scene().setSceneRect(self._message_item.boundingRect())

    def show_face(self, face: Face | None, fit: bool = True) -> None:
        if face is not self.face:
            self.selected_point = -1
        self.face = face
        if self._fitted == "face":
            self._fitted = None  # the view still shows the last face's place
        self.refresh()
        if fit and face is not None and self._pixmap_item is not None:
            self.fit_face()
        self.point_selected.emit(self.selected_point)

    def refresh(self) -> None:
        """Redraw boxes and the face overlay from the model."""
        if self._pixmap_item is None or self.image is None:
            return
        for item in self._box_items:
            self.scene().removeItem(item)
        self._box_items = add_box_items(self.scene(), self.image, self.face, self.box_mode)
        if self.face is None:
            self._overlay.setVisible(False)
        else:
            self._overlay.update_from(self.face, self.selected_point, self.shown, self.colours.scale)
            self._overlay.setVisible(self.face.points is not None and not self.box_mode)
            self._scale_marks()
        self.legend.show_for(None if self.box_mode else self.face, self._overlay.showing_prediction,
                             self.shown["ellipses"], self.colours.scale)
        self._place_legend()

    def set_shown(self, overlay: str, shown: bool) -> None:
        self.shown[overlay] = shown
        self.refresh()

    def set_legend_shown(self, shown: bool) -> None:
        self.legend.wanted = shown
        self.refresh()

    def set_box_mode(self, on: bool) -> None:
        self.box_mode = on
        self.refresh()

    def select_point(self, index: int) -> None:
        self.selected_point = index
        self.refresh()
        self.point_selected.emit(index)

    def show_point(self, index: int) -> None:
        """Scroll (without zooming) until point ``index`` of the face is in view; a point
        already in view leaves the view where it is."""
        if self.face is not None and self.face.points is not None:
            x, y = self.face.points[index]
            before = (self.horizontalScrollBar().value(), self.verticalScrollBar().value())
            self.ensureVisible(float(x), float(y), 1.0, 1.0)
            if (self.horizontalScrollBar().value(), self.verticalScrollBar().value()) != before:
                self._fitted = None

    def face_in_view(self, face: Face) -> bool:
        """Whether ``face`` is the face shown and some of it is on screen."""
        return (face is self.face and self._pixmap_item is not None
                and self.mapFromScene(self._face_extent()).boundingRect().intersects(self.viewport().rect()))

    def screen_to_image(self, length: float) -> float:
        """``length`` screen pixels in image pixels at the present zoom."""
        return length / self.transform().m11()

    @property
    def fitted(self) -> str | None:
        """"image" or "face" while the view fits it; None once zoomed or panned."""
        return self._fitted

    def fit_image(self) -> None:
        if self._pixmap_item is not None:
            self.fitInView(self._pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)
            self._fitted = "image"
            self._view_changed()

    def fit_face(self) -> None:
        """Frame the face, centred: its points (a detector's box can sit off them), or
        its box in box mode or before it has points."""
        extent = self._face_extent()
        mx, my = FACE_MARGIN * extent.width(), FACE_MARGIN * extent.height()
        self.fitInView(extent.adjusted(-mx, -my, mx, my), Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = "face"
        self._view_changed()

    def _face_extent(self) -> QRectF:
        points = self.face.points
        if points is not None and not self.box_mode:
            (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        else:
            x0, y0, x1, y1 = self.face.box
        return QRectF(QPointF(x0, y0), QPointF(x1, y1))

    def zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Scale the view by ``factor`` keeping the image pixel under ``anchor`` (viewport
        coordinates; by default the cursor when it is over the canvas, else the centre) where it is."""
        if anchor is None:
            cursor = self.viewport().mapFromGlobal(QCursor.pos())
            anchor = QPointF(cursor if self.viewport().rect().contains(cursor) else self.viewport().rect().center())
        held = self.viewportTransform().inverted()[0].map(anchor)
        self.scale(factor, factor)
        drift = self.viewportTransform().map(held) - anchor
        self._scroll_by(drift.x(), drift.y())
        self._fitted = None
        self._view_changed()

    def _scroll_by(self, dx: float, dy: float) -> None:
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(dx))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(dy))

    def _view_changed(self) -> None:
        self._scale_marks()
        self._place_legend()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._place_legend()

    def _place_legend(self) -> None:
        """In a corner of the view, one that leaves the face shown clear where one does."""
        face = None
        if self.face is not None and self._pixmap_item is not None:
            face = self.mapFromScene(self._face_extent()).boundingRect().translated(self.viewport().pos())
        self.legend.place(face)

    def _scale_marks(self) -> None:
        """Shrink points and pens of a face that is small on screen (a whole photo of a crowd)."""
        if self.face is None:
            return
        x0, y0, x1, y1 = self.face.box
        on_screen = ((x1 - x0) * (y1 - y0)) ** 0.5 * self.transform().m11()
        self._overlay.set_mark_scale(float(np.clip(on_screen / FULL_SIZE_FACE, SMALLEST_MARKS, 1.0)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._message_item is not None:
            self._place_message()
        elif self._fitted == "image":
            self.fit_image()
        elif self._fitted == "face" and self.face is not None:
            self.fit_face()
        self._place_legend()

    # -- mouse -----------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom(1.0015 ** event.angleDelta().y(), event.position())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._pixmap_item is None:
            return
        screen, scene = event.position(), self.mapToScene(event.position().toPoint())
        self._gesture += 1
        self._press = {"screen": screen, "last": screen, "scene": scene, "moved": False, "what": "none"}
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_held):
            self._press["what"] = "pan"
            self._show_cursor()
        elif button != Qt.MouseButton.LeftButton:
            return
        elif self.box_mode:
            self._press.update(self._box_press(screen, scene))
        elif event.modifiers() & PLACE_MODIFIER and self.face is not None and self.selected_point >= 0:
            self._press["what"] = "place"
        else:
            index = self._point_at(screen)
            self._press["what"] = "point" if index >= 0 else "click"
            if index >= 0:
                self.select_point(index)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        press = self._press
        if press is None:
            return
        screen, scene = event.position(), self.mapToScene(event.position().toPoint())
        if not press["moved"] and (screen - press["screen"]).manhattanLength() < DRAG_THRESHOLD:
            return
        press["moved"] = True
        what = press["what"]
        if what == "point":
            self.point_dragged.emit(self.selected_point, scene.x(), scene.y(), self._gesture)
        elif what == "pan":
            delta = screen - press["last"]
            self._scroll_by(-delta.x(), -delta.y())
            self._fitted = None
        elif what in ("move box", "resize box"):
            self.box_dragged.emit(press["face"], self._dragged_box(press, scene), self._gesture)
        elif what == "new box":
            press["rubber"].setRect(QRectF(press["scene"], scene).normalized())
        press["last"] = screen

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, self._press = self._press, None
        if press is None:
            return
        scene = self.mapToScene(event.position().toPoint())
        what = press["what"]
        if what == "new box":
            self.scene().removeItem(press["rubber"])
            rect = QRectF(press["scene"], scene).normalized()
            if rect.width() >= MIN_BOX and rect.height() >= MIN_BOX:
                self.box_drawn.emit((rect.left(), rect.top(), rect.right(), rect.bottom()))
        elif what == "place":
            self.point_placed.emit(self.selected_point, scene.x(), scene.y())
        elif press["moved"] and what in ("move box", "resize box"):
            self.box_gesture_finished.emit()
        elif not press["moved"] and what == "click":
            self._click(scene)
        self._show_cursor()

    def _click(self, scene: QPointF) -> None:
        """A plain click off the points: another face's box selects that face; anywhere
        else deselects the point (it never moves one)."""
        other = self._face_at(scene, exclude=self.face)
        if other is not None:
            self.face_clicked.emit(other)
        elif self.selected_point >= 0:
            self.select_point(-1)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space:   # held: a left drag pans
            self._space_held = True
            self._show_cursor(event.modifiers())
            return
        self._show_cursor(event.modifiers())
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space:
            self._space_held = event.isAutoRepeat()   # a held key repeats as release, press, …
            self._show_cursor(event.modifiers())
            return
        self._show_cursor(event.modifiers())
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space_held = False   # its release goes elsewhere
        self._show_cursor()
        super().focusOutEvent(event)

    def _show_cursor(self, modifiers=None) -> None:
        """A hand while panning (open while Space is held), a cross-hair while a click
        would place the selected point, else the arrow."""
        if modifiers is None:
            modifiers = QGuiApplication.keyboardModifiers()
        placing = bool(modifiers & PLACE_MODIFIER) and self.selected_point >= 0 and not self.box_mode
        if self._press is not None and self._press["what"] == "pan":
            shape = Qt.CursorShape.ClosedHandCursor
        elif self._space_held:
            shape = Qt.CursorShape.OpenHandCursor
        else:
            shape = Qt.CursorShape.CrossCursor if placing else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)

    # -- hit testing -------------------------------------------------------------------
    def _point_at(self, screen: QPointF) -> int:
        """The current face's point whose dot, as drawn, ``screen`` is on (within
        PICK_SLACK of its edge), the nearest when dots overlap; else -1."""
        if self.face is None or self.face.points is None:
            return -1
        on_screen = np.array([[p.x(), p.y()] for p in
                              (self.viewportTransform().map(QPointF(x, y)) for x, y in self.face.points)], float)
        distances = np.hypot(on_screen[:, 0] - screen.x(), on_screen[:, 1] - screen.y())
        reach = np.array([self._overlay.marker_radius(index) for index in range(len(distances))]) + PICK_SLACK
        distances[distances > reach] = np.inf
        nearest = int(np.argmin(distances))
        return nearest if np.isfinite(distances[nearest]) else -1

    def _face_at(self, scene: QPointF, exclude: Face | None = None) -> Face | None:
        for face in self.image.faces if self.image else []:
            x0, y0, x1, y1 = face.box
            if face is not exclude and x0 <= scene.x() <= x1 and y0 <= scene.y() <= y1:
                return face
        return None

    def _box_press(self, screen: QPointF, scene: QPointF) -> dict:
        if self.face is not None:
            corner = self.mapFromScene(QPointF(self.face.box[2], self.face.box[3]))
            if max(abs(corner.x() - screen.x()), abs(corner.y() - screen.y())) <= HANDLE_SIZE:
                return {"what": "resize box", "face": self.face, "box": self.face.box}
        face = self._face_at(scene)
        if face is not None:
            if face is not self.face:
                self.face_clicked.emit(face)
            return {"what": "move box", "face": face, "box": face.box}
        rubber = QGraphicsRectItem()
        rubber.setPen(cosmetic_pen(QColor(255, 170, 0), 1.5, Qt.PenStyle.DashLine))
        self.scene().addItem(rubber)
        return {"what": "new box", "rubber": rubber}

    @staticmethod
    def _dragged_box(press: dict, scene: QPointF) -> tuple:
        x0, y0, x1, y1 = press["box"]
        dx, dy = scene.x() - press["scene"].x(), scene.y() - press["scene"].y()
        if press["what"] == "move box":
            return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        return (x0, y0, max(x1 + dx, x0 + MIN_BOX), max(y1 + dy, y0 + MIN_BOX))
