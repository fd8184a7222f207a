"""Histogram of face uncertainty over the folder; clicking a bar filters the face list."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from ..document.triage import histogram

BAR_COLOUR = (90, 150, 220)
SELECTED_COLOUR = (250, 190, 40)


class UncertaintyHistogram(pg.PlotWidget):
    bucket_selected = Signal(object)   # (low, high, is last bar), or None when cleared

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setLabel("bottom", "face uncertainty (% of face size)")
        self.setLabel("left", "faces")
        for axis in ("bottom", "left"):
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.setMinimumHeight(120)
        self.counts = np.zeros(0, int)
        self.edges = np.zeros(1)
        self.selected: tuple[float, float, bool] | None = None
        self._bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=BAR_COLOUR)
        self.addItem(self._bars)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_values(self, values) -> None:
        self.counts, self.edges = histogram(np.asarray(values, dtype=float))
        self._draw()

    def select_bar(self, bar: int | None) -> None:
        """Select bar ``bar`` (or none) as a click would."""
        if bar is None or not 0 <= bar < len(self.counts):
            self.selected = None
        else:
            self.selected = (float(self.edges[bar]), float(self.edges[bar + 1]), bar == len(self.counts) - 1)
        self._draw()
        self.bucket_selected.emit(self.selected)

    def _draw(self) -> None:
        centres = (self.edges[:-1] + self.edges[1:]) / 2
        selected = self.selected
        brushes = [SELECTED_COLOUR if selected and selected[0] <= c <= selected[1] else BAR_COLOUR for c in centres]
        self._bars.setOpts(x0=self.edges[:-1], x1=self.edges[1:], height=self.counts, brushes=brushes)

    def _clicked(self, event) -> None:
        if len(self.counts) == 0:
            return
        x = self.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        bar = int(np.searchsorted(self.edges, x, side="right")) - 1
        inside = 0 <= bar < len(self.counts) and self.counts[bar] > 0
        already = self.selected is not None and self.selected[0] == self.edges[bar] if inside else False
        self.select_bar(bar if inside and not already else None)
