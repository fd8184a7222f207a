"""Live plot of a fine-tuning run: loss per step and per epoch, and NME_io on the held-out
faces of the model to be saved (the blend of the fine-tuned weights with the starting ones,
as ``uglli_core.tuning.finetune.HeldOutProgress`` measures it), beside that of the fine-tuned
weights alone. The last point of the first is the figure reported."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

STEP_COLOUR = (160, 190, 230)
EPOCH_COLOUR = (30, 90, 200)
NME_COLOUR = (220, 110, 20)           # the model to be saved
TUNED_COLOUR = (235, 185, 140)        # the fine-tuned weights alone


class TrainingPlot(QWidget):
    """Two plots sharing the x axis (epochs): training loss, and held-out NME_io (%)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = self._plot("training loss")
        self.nme_plot = self._plot("held-out NME_io (%)")
        self.nme_plot.setXLink(self.loss_plot)
        self.loss_plot.addLegend(offset=(-10, 10))
        self._steps = self.loss_plot.plot([], [], pen=pg.mkPen(STEP_COLOUR, width=1), name="step")
        self._epochs = self.loss_plot.plot([], [], pen=pg.mkPen(EPOCH_COLOUR, width=2), symbol="o",
                                           symbolSize=5, symbolBrush=EPOCH_COLOUR, name="epoch mean")
        self.nme_plot.addLegend(offset=(-10, 10))
        self._saved = self.nme_plot.plot([], [], pen=pg.mkPen(NME_COLOUR, width=3), symbol="o", symbolSize=7,
                                         symbolBrush=NME_COLOUR, name="model to be saved")
        self._tuned = self.nme_plot.plot([], [], pen=pg.mkPen(TUNED_COLOUR, width=1.5, style=Qt.PenStyle.DotLine),
                                         name="fine-tuned weights alone")
        self._baseline = pg.InfiniteLine(angle=0, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine),
                                         label="starting model", labelOpts={"position": 0.15, "color": (90, 90, 90)})
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

    def clear(self, epochs: int | None = None) -> None:
        """Empty the plots; with ``epochs``, the epoch axis spans the run to come, from 0 (the
        starting model's held-out figure)."""
        self.step_points: list[tuple[float, float]] = []     # (epoch + fraction, loss)
        self.epoch_points: list[tuple[float, float]] = []    # (epochs done, mean loss)
        self.saved_points: list[tuple[float, float]] = []    # (epochs done, NME_io of the model to be saved)
        self.tuned_points: list[tuple[float, float]] = []    # (epochs done, NME_io of the fine-tuned weights)
        self._baseline.setVisible(False)
        self._redraw()
        if epochs:
            self.loss_plot.setXRange(0, epochs)   # the held-out plot follows: their x axes are linked

    def add_event(self, event: dict) -> None:
        """Take one progress event of the core's ``fine_tune`` (others are ignored). Epoch 0 of
        the held-out figures is the starting model's: a dashed line."""
        kind = event.get("event")
        if kind == "step":
            steps = max(int(event.get("steps", 1)), 1)
            self.step_points.append((event["epoch"] + (event["step"] + 1) / steps, float(event["loss"])))
            self._steps.setData(*_columns(self.step_points))
        elif kind == "epoch":
            self.epoch_points.append((event["epoch"], float(event["train_loss"])))
            self._epochs.setData(*_columns(self.epoch_points))
            self._add_nme(self.tuned_points, self._tuned, event)
        elif kind == "held_out":
            nme = self._add_nme(self.saved_points, self._saved, event)
            if event["epoch"] == 0 and nme is not None:
                self._baseline.setValue(nme)
                self._baseline.setVisible(True)

    @staticmethod
    def _add_nme(points: list[tuple[float, float]], curve, event: dict) -> float | None:
        nme = (event.get("val") or {}).get("nme_io")
        if nme is not None:
            points.append((event["epoch"], float(nme)))
            curve.setData(*_columns(points))
        return nme

    def _redraw(self) -> None:
        self._steps.setData(*_columns(self.step_points))
        self._epochs.setData(*_columns(self.epoch_points))
        self._saved.setData(*_columns(self.saved_points))
        self._tuned.setData(*_columns(self.tuned_points))


def _columns(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [p[0] for p in points], [p[1] for p in points]
