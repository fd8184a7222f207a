"""Graphics items that draw a face: contours, Mahalanobis-1 ellipses, points, the
model's predicted points, numbers, boxes.

The dots are the face's current points (edited, else annotated, else predicted). Where
they are not the prediction, the model's own points are drawn too, as crosses at the
centres of their ellipses, so annotation and prediction are told apart at a glance.
A point the reviewer marked occluded is a hollow, dashed ring in its colour: placed by
judgement, not seen.
Points, crosses and numbers ignore the view's zoom (ItemIgnoresTransformations) so they
keep their size on screen, scaled by :meth:`FaceOverlay.set_mark_scale` for faces that
are small on screen; ellipses and contours live in image pixels with cosmetic pens.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QGraphicsItemGroup, QGraphicsPathItem,
                               QGraphicsRectItem, QGraphicsScene, QGraphicsSimpleTextItem)

from uglli_core import N_LANDMARKS

from ..document.colour_scale import ColourScale
from ..document.faces import Face, ImageEntry, PointSource
from ..document.landmark_geometry import contour_polylines, ellipse_axes

POINT_RADIUS = 4.0            # screen pixels, at full size
SELECTED_RADIUS = 7.0
CROSS_HALF = 4.0              # half the width of a predicted point's cross
LINE_WIDTH = 1.2              # contours and ellipses
HANDLE_SIZE = 9.0             # screen pixels, the corner that resizes a box
CONTOUR_COLOUR = QColor(0, 200, 255, 190)
SELECTED_COLOUR = QColor(255, 230, 0)
REVIEWED_COLOUR = QColor(255, 255, 255)
PREDICTION_COLOUR = QColor(255, 80, 255)
CURRENT_BOX_COLOUR = QColor(255, 170, 0)
OTHER_BOX_COLOUR = QColor(220, 220, 220, 170)
OVERLAYS = ("ellipses", "contours", "numbers")
OCCLUDED_DASHES = [1.0, 1.0]  # an occluded point's ring: dash and gap, in pen widths


def cosmetic_pen(colour: QColor, width: float = 1.0, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)  # width in screen pixels whatever the zoom
    return pen


class FaceOverlay(QGraphicsItemGroup):
    """All items of the face being reviewed; :meth:`update_from` moves them, nothing is rebuilt."""

    def __init__(self):
        super().__init__()
        self.setZValue(2)
        self.mark_scale = 1.0
        self.showing_prediction = False  # the model's points are drawn as crosses beside the dots
        self._selected = -1
        self.contours = QGraphicsPathItem(self)
        self.contours.setPen(cosmetic_pen(CONTOUR_COLOUR, LINE_WIDTH))
        self.ellipses = [QGraphicsEllipseItem(self) for _ in range(N_LANDMARKS)]
        self._drawn = (None, None)  # the prediction the ellipses show, and the colour scale they have
        self.crosses = []
        for _ in range(N_LANDMARKS):
            cross = QGraphicsPathItem(self)
            cross.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            cross.setPen(cosmetic_pen(PREDICTION_COLOUR, 1.5))
            cross.setZValue(2.5)
            self.crosses.append(cross)
        self.markers = []
        self.numbers = []
        for index in range(N_LANDMARKS):
            marker = QGraphicsEllipseItem(self)
            marker.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            marker.setZValue(3)
            number = QGraphicsSimpleTextItem(str(index), marker)
            number.setBrush(QBrush(QColor(255, 255, 255)))
            number.setPos(POINT_RADIUS + 1, -POINT_RADIUS - 13)
            self.markers.append(marker)
            self.numbers.append(number)

    def update_from(self, face: Face, selected: int, shown: dict[str, bool], colours: ColourScale) -> None:
        """Move the items to ``face``, coloured by ``colours`` (the folder's scale)."""
        points = face.points
        self.setVisible(points is not None)
        if points is None:
            return
        # coloured like the ellipses: after a correction moved the others, by what is left unsure
        shown_prediction = face.shown_prediction
        uncertainty = None if shown_prediction is None else shown_prediction.point_uncertainty
        path = QPainterPath()
        for line in contour_polylines(points):
            path.moveTo(*line[0])
            for x, y in line[1:]:
                path.lineTo(x, y)
        self.contours.setPath(path)
        self.contours.setVisible(shown["contours"])
        self._selected = selected
        for index, (marker, number) in enumerate(zip(self.markers, self.numbers)):
            colour = QColor(*colours.rgb(None if uncertainty is None else uncertainty[index]))
            marker.setPos(QPointF(*points[index]))
            marker.setPen(self._marker_pen(face, index, selected, colour))
            marker.setBrush(QBrush(Qt.BrushStyle.NoBrush) if face.occluded[index] else QBrush(colour))
            number.setVisible(shown["numbers"])
        self._update_ellipses(face, shown["ellipses"], colours)
        self.showing_prediction = (shown["ellipses"] and face.prediction is not None
                                   and face.source is not PointSource.PREDICTED)
        for index, cross in enumerate(self.crosses):
            cross.setVisible(self.showing_prediction)
            if self.showing_prediction:
                cross.setPos(QPointF(*face.prediction.landmarks[index]))
        self._size_marks()

    @staticmethod
    def _marker_pen(face: Face, index: int, selected: int, colour: QColor) -> QPen:
        """The ring of a point's dot: selected, reviewed, else a dark edge; an occluded
        point's is dashed and, unless selected or reviewed, in its colour (it has no fill)."""
        occluded = face.occluded[index]
        if index == selected:
            pen = QPen(SELECTED_COLOUR, 2.5)
        elif face.point_reviewed[index]:
            pen = QPen(REVIEWED_COLOUR, 2.0)
        else:
            pen = QPen(colour, 2.0) if occluded else QPen(QColor(0, 0, 0), 1.0)
        if occluded:
            pen.setDashPattern(OCCLUDED_DASHES)
        return pen

    def set_mark_scale(self, scale: float) -> None:
        """Draw points, crosses and lines at ``scale`` of their full size (a face that is
        small on screen would vanish under full-size dots)."""
        if scale != self.mark_scale:
            self.mark_scale = scale
            self._size_marks()

    def marker_radius(self, index: int) -> float:
        """The radius of point ``index``'s dot on screen, in screen pixels, as drawn now."""
        if index == self._selected:
            return SELECTED_RADIUS * max(self.mark_scale, 0.7)
        return POINT_RADIUS * self.mark_scale

    def _size_marks(self) -> None:
        for index, marker in enumerate(self.markers):
            radius = self.marker_radius(index)
            marker.setRect(QRectF(-radius, -radius, 2 * radius, 2 * radius))
        scale = self.mark_scale
        half = CROSS_HALF * scale
        cross = QPainterPath()
        cross.moveTo(-half, -half)
        cross.lineTo(half, half)
        cross.moveTo(-half, half)
        cross.lineTo(half, -half)
        for item in self.crosses:
            item.setPath(cross)
        for item in [self.contours, *self.ellipses]:
            pen = item.pen()
            pen.setWidthF(max(LINE_WIDTH * scale, 0.6))
            item.setPen(pen)

    def _update_ellipses(self, face: Face, shown: bool, colours: ColourScale) -> None:
        prediction = face.shown_prediction  # fused with the placed points, after a correction moved the others
        for ellipse in self.ellipses:
            ellipse.setVisible(shown and prediction is not None)
        if prediction is None or (prediction is self._drawn[0] and colours == self._drawn[1]):
            return  # a plain drag changes points, not the Gaussians: skip 68 eigen-decompositions
        self._drawn = (prediction, colours)
        uncertainty = prediction.point_uncertainty
        axes = np.stack(ellipse_axes(prediction.covariances), axis=1)       # (68, 3)
        for index, ellipse in enumerate(self.ellipses):
            major, minor, angle = axes[index]
            ellipse.setRect(QRectF(-major, -minor, 2 * major, 2 * minor))
            ellipse.setRotation(angle)
            ellipse.setPos(QPointF(*prediction.landmarks[index]))
            colour = QColor(*colours.rgb(uncertainty[index]), 220)
            ellipse.setPen(cosmetic_pen(colour, max(LINE_WIDTH * self.mark_scale, 0.6)))
            fill = QColor(colour)
            fill.setAlpha(40)
            ellipse.setBrush(QBrush(fill))


def add_box_items(scene: QGraphicsScene, image: ImageEntry, current: Face | None, handles: bool) -> list:
    """A rectangle per face of ``image`` (the current one highlighted), with a resize
    handle on the current box when ``handles``."""
    items = []
    for face in image.faces:
        x0, y0, x1, y1 = face.box
        is_current = face is current
        rect = QGraphicsRectItem(QRectF(x0, y0, x1 - x0, y1 - y0))
        rect.setPen(cosmetic_pen(CURRENT_BOX_COLOUR, 2.0) if is_current
                    else cosmetic_pen(OTHER_BOX_COLOUR, 1.5, Qt.PenStyle.DashLine))
        rect.setZValue(1)
        scene.addItem(rect)
        items.append(rect)
        if is_current and handles:
            half = HANDLE_SIZE / 2
            handle = QGraphicsRectItem(QRectF(-half, -half, HANDLE_SIZE, HANDLE_SIZE))
            handle.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            handle.setPos(x1, y1)
            handle.setBrush(QBrush(CURRENT_BOX_COLOUR))
            handle.setZValue(4)
            scene.addItem(handle)
            items.append(handle)
    return items
