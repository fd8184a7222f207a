"""Live plot of a training run: loss per step and per epoch, validation NME per epoch."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

STEP_COLOUR = (160, 190, 230)
EPOCH_COLOUR = (30, 90, 200)
NME_COLOUR = (220, 110, 20)


class TrainingPlot(QWidget):
    """Two plots sharing the x axis (epochs): training loss, and validation NME_io (%)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = self._plot("training loss")
        self.nme_plot = self._plot("validation NME_io (%)")
        self.nme_plot.setXLink(self.loss_plot)
        self.loss_plot.addLegend(offset=(-10, 10))
        self._steps = self.loss_plot.plot([], [], pen=pg.mkPen(STEP_COLOUR, width=1), name="step")
        self._epochs = self.loss_plot.plot([], [], pen=pg.mkPen(EPOCH_COLOUR, width=2), symbol="o",
                                           symbolSize=5, symbolBrush=EPOCH_COLOUR, name="epoch mean")
        self._nme = self.nme_plot.plot([], [], pen=pg.mkPen(NME_COLOUR, width=2), symbol="o",
                                       symbolSize=5, symbolBrush=NME_COLOUR)
        self._baseline = pg.InfiniteLine(angle=0, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine))
        self._baseline.setVisible(False)
        self.nme_plot.addItem(self._baseline)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.nme_plot)
        self.clear()

    @staticmethod
    def _plot(title: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", "epoch")
        plot.setTitle(title, color=(60, 60, 60), size="9pt")
        for axis in ("bottom", "left"):
            plot.getAxis(axis).enableAutoSIPrefix(False)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMinimumSize(220, 160)
        return plot

    def clear(self) -> None:
        self.step_points: list[tuple[float, float]] = []     # (epoch + fraction, loss)
        self.epoch_points: list[tuple[float, float]] = []    # (epochs done, mean loss)
        self.nme_points: list[tuple[float, float]] = []      # (epochs done, NME_io)
        self._baseline.setVisible(False)
        self._redraw()

    def set_baseline(self, nme_io: float | None) -> None:
        """The starting model's NME on the held-out faces, as a dashed line."""
        if nme_io is not None:
            self._baseline.setValue(nme_io)
        self._baseline.setVisible(nme_io is not None)

    def add_event(self, event: dict) -> None:
        """Take one progress event of the core's ``fit`` (others are ignored)."""
        kind = event.get("event")
        if kind == "step":
            steps = max(int(event.get("steps", 1)), 1)
            self.step_points.append((event["epoch"] + (event["step"] + 1) / steps, float(event["loss"])))
            self._steps.setData(*_columns(self.step_points))
        elif kind == "epoch":
            self.epoch_points.append((event["epoch"], float(event["train_loss"])))
            self._epochs.setData(*_columns(self.epoch_points))
            nme = (event.get("val") or {}).get("nme_io")
            if nme is not None:
                self.nme_points.append((event["epoch"], float(nme)))
                self._nme.setData(*_columns(self.nme_points))

    def _redraw(self) -> None:
        self._steps.setData(*_columns(self.step_points))
        self._epochs.setData(*_columns(self.epoch_points))
        self._nme.setData(*_columns(self.nme_points))


def _columns(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [p[0] for p in points], [p[1] for p in points]
