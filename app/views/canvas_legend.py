"""The canvas legend: what the dots, crosses and ellipses of the face shown are."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QLabel

from uglli_core.maths.metrics import mahalanobis_squared

from ..document.colour_scale import ColourScale
from ..document.faces import Face, PointSource
from .canvas_items import PREDICTION_COLOUR

MARGIN = 8
TEXT_SCALE = 0.9     # a little smaller than the window's text: it lies over the image
INDENT = "&nbsp;" * 6   # a line that goes on with the one above
SOURCES = {
    PointSource.ANNOTATION: "the annotation (.pts file)",
    PointSource.MANUAL: "your corrections",
    PointSource.PREDICTED: "the model's prediction",
}


def _swatch(rgb, symbol: str) -> str:
    return f"<span style='color: rgb{tuple(rgb)}; font-weight: bold'>{symbol}</span>"


def legend_html(face: Face, showing_prediction: bool, ellipses: bool, colours: ColourScale) -> str:
    """One line per kind of mark on the face shown, and what the colours mean."""
    calm, alarm = colours.rgb(colours.calm), colours.rgb(colours.alarm)
    # after a correction the dots' colours and the ellipses are the prediction fused with
    # it (Face.fused): what is left unsure, not what the model alone said around its ✕
    updated = face.shown_prediction is not face.prediction
    colouring = ("the uncertainty left after your corrections" if updated else "the model's uncertainty")
    lines = [f"{_swatch(calm, '●')}{_swatch(alarm, '●')} points: {SOURCES[face.source]}"
             + (f", coloured by {colouring}" if face.prediction else "")]
    if face.prediction is not None:
        lines.append(f"{INDENT}{colours.describe(_swatch(calm, 'green'), _swatch(alarm, 'red'))}")
    if face.occluded.any():
        count = int(face.occluded.sum())
        lines.append(f"{_swatch(calm, '◌')} occluded point{'s' * (count != 1)} ({count}): placed by judgement, "
                     "not seen")
    if showing_prediction:
        lines.append(f"{_swatch(PREDICTION_COLOUR.getRgb()[:3], '✕')} the model's prediction")
    if ellipses and face.prediction is not None:
        lines.append(f"{_swatch(calm, '◯')} the model's 1σ ellipse, "
                     + ("updated by your corrections" if updated else "around its prediction"))
    if face.prediction is None:
        lines.append("not predicted yet")
    return "<br>".join(lines)


class CanvasLegend(QLabel):
    """A small caption in a corner of a view's viewport, the bottom-left one unless that
    covers the face; clicks go through it. Hidden while :attr:`wanted` is off (View → Legend)."""

    def __init__(self, parent: QAbstractScrollArea):
        super().__init__(parent)
        self.wanted = True
        self._sized_for: tuple[str, int] | None = None   # (text, room) the size was worked out for
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet("background: rgba(20, 20, 24, 190); color: #eeeeee; padding: 3px 5px; "
                           "border-radius: 4px;")
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * TEXT_SCALE)
        self.setFont(font)
        self.hide()

    def show_for(self, face: Face | None, showing_prediction: bool, ellipses: bool, colours: ColourScale) -> None:
        if not self.wanted or face is None or face.points is None:
            self.hide()
            return
        self.setText(legend_html(face, showing_prediction, ellipses, colours))
        self.show()

    def place(self, avoid: QRect | None = None) -> None:
        """Sized to the viewport (wrapped when narrow) and moved to the first corner,
        from the bottom-left, that does not overlap ``avoid`` (the face on screen, in
        the view's coordinates); when each does, the one that overlaps it least."""
        viewport = self.parentWidget().viewport().geometry()
        room = max(viewport.width() - 2 * MARGIN, 1)
        if self._sized_for != (self.text(), room):     # not on every step of a pan
            self._sized_for = (self.text(), room)
            self.setWordWrap(False)
            natural = self.sizeHint().width()
            self.setWordWrap(natural > room)    # a narrow canvas wraps it rather than cutting it off
            width = min(natural, room)
            self.resize(width, self.heightForWidth(width) if self.wordWrap() else self.sizeHint().height())
        inner = viewport.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        right, bottom = inner.right() - self.width(), inner.bottom() - self.height()
        corners = [QPoint(inner.left(), bottom), QPoint(right, bottom), inner.topLeft(), QPoint(right, inner.top())]

        def overlap(corner: QPoint) -> int:
            common = QRect(corner, self.size()).intersected(avoid) if avoid is not None else QRect()
            return common.width() * common.height() if not common.isEmpty() else 0

        self.move(min(corners, key=overlap))    # min keeps the first of equals: bottom-left first
        self.raise_()


def edit_hint(face: Face | None, selected: int, box_mode: bool) -> str:
    """What the mouse does on the canvas now, and the point selected (for the status bar)."""
    if box_mode:
        return "Face boxes: drag outside a box draws one, inside moves it, its corner resizes it · B: back to points"
    if face is None or face.points is None:
        return ""
    if selected < 0:
        return "Click a point to select it · wheel zooms · middle drag or Space+drag pans"
    parts = [f"Point {selected}"]
    shown = face.shown_prediction   # as the dot is coloured: after the corrections, when there are any
    if shown is not None:
        left = " left" if shown is not face.prediction else ""
        parts.append(f"uncertainty{left} {shown.point_uncertainty[selected]:.2f} %")
    prediction = face.prediction
    if prediction is not None and face.source is not PointSource.PREDICTED:   # where the point is now
        distance = mahalanobis_squared(face.points[selected], prediction.landmarks[selected],
                                       prediction.covariances[selected])
        parts.append(f"d² {distance:.1f} from the model's prediction")
    parts.append("reviewed" if face.point_reviewed[selected] else "not reviewed")
    if face.occluded[selected]:
        parts.append("occluded")
    return " · ".join(parts) + "  —  drag it or Ctrl+click to place it · Esc: deselect"
