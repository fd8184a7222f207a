"""Model → Fine-tune on Corrections…: settings, a live plot of the loss and of the held-out
figures of the model to be saved, the figures before and after, and making the new version
active (asking first when its figures say it may do harm). Not modal: the review goes on
while a model trains. Its logic is :class:`~app.workers.model_control.ModelControl`'s."""
from __future__ import annotations

import math

import torch
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QMessageBox, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from uglli_core.tuning.finetune import BLEND_SHARES, DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SHARE

from ..document.corrections import CHOICES, activation_risks, held_out_count, held_out_warning
from ..views.loss_plot import TrainingPlot
from ..workers.model_control import FineTuneSettings
from .versions_dialog import change

LEARNING_RATES = ("1e-3", "3e-4", "2e-4", "1e-4", "3e-5", "1e-5")
ERROR_STYLE = "color: #a00000;"
WARNING_STYLE = "color: #8a5a00;"


AUTOMATIC_SHARE = "Chosen"   # the share spin box's text at 0


class FineTuneDialog(QDialog):
    versions_requested = Signal()       # the Versions… button

    def __init__(self, control, parent=None):
        super().__init__(parent)
        self.control = control
        self.setWindowTitle("Fine-tune on Corrections")
        self.new_version = None

        self.faces_combo = QComboBox()
        for key, text in CHOICES.items():
            self.faces_combo.addItem(text, key)
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)
        self.epochs = QSpinBox(minimum=1, maximum=500, value=DEFAULT_EPOCHS)
        self.lr = QComboBox(editable=True)
        self.lr.addItems(LEARNING_RATES)
        self.lr.setCurrentText(f"{DEFAULT_LR:g}")
        validator = QDoubleValidator(1e-7, 1.0, 8, self.lr)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.lr.setValidator(validator)
        # 0 stands for "chosen": the share with the lowest NME_io on the held-out faces
        self.share = QSpinBox(minimum=0, maximum=100, singleStep=10, suffix=" %",
                              value=0 if DEFAULT_SHARE is None else round(100 * DEFAULT_SHARE))
        self.share.setSpecialValueText(AUTOMATIC_SHARE)
        self.share.setToolTip("The new model blends the fine-tuned weights with the starting model's. "
                              f"{AUTOMATIC_SHARE}: the share of {', '.join(f'{100 * s:g} %' for s in BLEND_SHARES)} "
                              "that does best on the held-out faces; a folder like the model's training faces "
                              "keeps the starting model, one unlike them gets the fine-tuned weights.")
        self.holdout = QSpinBox(minimum=1, maximum=50, value=10, suffix=" %")
        self.min_holdout = QSpinBox(minimum=1, maximum=50, value=3, suffix=" faces")
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        self.device.addItem("GPU (CUDA)", "cuda")
        if not torch.cuda.is_available():
            self.device.model().item(1).setEnabled(False)
            self.device.setItemData(1, "No CUDA GPU is available to torch on this machine", Qt.ItemDataRole.ToolTipRole)
        else:
            self.device.setCurrentIndex(1)
        holdout_row = QHBoxLayout()
        holdout_row.addWidget(self.holdout)
        holdout_row.addWidget(QLabel("at least"))
        holdout_row.addWidget(self.min_holdout)
        holdout_row.addStretch(1)
        form = QFormLayout()
        form.addRow("Train on", self.faces_combo)
        form.addRow("", self.count_label)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Fine-tuned share of the weights", self.share)
        form.addRow("Hold out for validation", holdout_row)
        form.addRow("Device", self.device)
        self._settings_widgets = (self.faces_combo, self.epochs, self.lr, self.share, self.holdout, self.min_holdout, self.device)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel Training")
        self.cancel_button.setEnabled(False)
        close_button = QPushButton("Close")
        close_button.setToolTip("Training goes on in the background; its model is saved when it ends")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status_label = QLabel("Choose the faces and start.")
        self.status_label.setWordWrap(True)
        self.plot = TrainingPlot()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.activate_button = QPushButton()
        self.activate_button.hide()
        self.versions_button = QPushButton("Versions…")
        result_row = QHBoxLayout()
        result_row.addWidget(self.activate_button)
        result_row.addStretch(1)
        result_row.addWidget(self.versions_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.result_label)
        layout.addLayout(result_row)
        self.resize(760, 640)

        self.faces_combo.currentIndexChanged.connect(self.refresh)
        self.holdout.valueChanged.connect(self.refresh)
        self.min_holdout.valueChanged.connect(self.refresh)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        close_button.clicked.connect(self.hide)
        self.activate_button.clicked.connect(self.activate)
        self.versions_button.clicked.connect(self.versions_requested)
        control.trainer.running_changed.connect(self._on_running_changed)
        control.event.connect(self._on_event)
        control.version_added.connect(self._on_version_added)
        control.run_ended.connect(self._on_run_ended)
        control.uncertainty_moved.connect(self._on_uncertainty_moved)

    # -- settings ----------------------------------------------------------------------
    def settings(self) -> FineTuneSettings:
        try:
            lr = float(self.lr.currentText())
        except ValueError:
            lr = float("nan")
        return FineTuneSettings(faces=self.faces_combo.currentData(), epochs=self.epochs.value(), lr=lr,
                                share=self.share.value() / 100 or None, val_fraction=self.holdout.value() / 100, min_validation=self.min_holdout.value(),
                                device=self.device.currentData())

    def refresh(self) -> None:
        """Count the chosen faces and say whether a run can start."""
        settings = self.settings()
        faces = self.control.training_faces(settings.faces)
        count = len(faces)
        problem = self.control.refusal(settings, faces)
        held = 0 if self.control.project is None else held_out_count(
            self.control.project, faces, settings.val_fraction, settings.min_validation, settings.seed)
        running = self.control.trainer.running
        if problem and not running:
            self.count_label.setText(problem)
            self.count_label.setStyleSheet(ERROR_STYLE)
        else:
            warning = held_out_warning(held)
            self.count_label.setText(f"{count} faces: {count - held} to train on, {held} held out to measure "
                                     "NME before and after." + (f"\n{warning}" if warning else ""))
            self.count_label.setStyleSheet(WARNING_STYLE if warning else "")
        self.start_button.setEnabled(problem is None and not running)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.WindowActivate:  # faces may have been reviewed meanwhile
            self.refresh()
        return super().event(event)

    # -- running -----------------------------------------------------------------------
    def start(self) -> None:
        settings = self.settings()
        if not (math.isfinite(settings.lr) and settings.lr > 0):
            self._say("The learning rate must be a positive number such as 1e-4.", error=True)
            return
        self.plot.clear(settings.epochs)
        self.new_version = None
        self.activate_button.hide()
        self.result_label.clear()
        problem = self.control.start_fine_tune(settings)
        if problem:
            self._say(problem, error=True)
            return
        self.progress_bar.setRange(0, 0)  # busy until the first step says how many there are
        self._say("Measuring the current model on the held-out faces…")

    def cancel(self) -> None:
        self.control.cancel_fine_tune()
        self._say("Cancelling after the current step…")

    def activate(self) -> None:
        """Make the new version active, once the user has agreed to what its figures say."""
        version = self.new_version
        if version is None:
            return
        risks = activation_risks(version.before, version.after, held_out_faces(version))
        if risks and not ask_make_active(self, version, risks):
            self._say(f"Version {version.version} is kept aside: the model in use is unchanged. Model → "
                      "Versions… can make it active later.")
            return
        self.control.make_active(version.version, repredict=True)
        self.activate_button.hide()

    def _say(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")

    def _on_running_changed(self, running: bool) -> None:
        for widget in self._settings_widgets:
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if not running and self.progress_bar.maximum() == 0:  # still busy: no step came
            self.progress_bar.setRange(0, 1)
        self.refresh()

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        self.plot.add_event(event)
        epochs = self.epochs.value()
        if kind == "prepare":
            self._say(f"Preparing {event.get('faces', '')} faces…")
        elif kind == "step":
            steps = max(int(event["steps"]), 1)
            self.progress_bar.setRange(0, epochs * steps)
            self.progress_bar.setValue(min(event["epoch"] * steps + event["step"] + 1, epochs * steps))
            self._say(f"Epoch {event['epoch'] + 1} of {epochs}, step {event['step'] + 1} of {steps}: "
                      f"loss {event['loss']:.3g}")
        elif kind == "epoch":
            self._say(f"Epoch {event['epoch']} of {event.get('epochs', epochs)}: training loss "
                      f"{event['train_loss']:.3g}")
        elif kind == "cancelled":
            self._say("Cancelling…")
        elif kind == "done" and not event.get("cancelled"):
            self.progress_bar.setValue(self.progress_bar.maximum())
            self._say("Saving the new model…")

    def _on_version_added(self, version) -> None:
        self.new_version = version
        self.progress_bar.setValue(self.progress_bar.maximum())
        self._say(f"Finished: saved as version {version.version} (trained on {len(version.trained_on)} faces).")
        risks = activation_risks(version.before, version.after, held_out_faces(version))
        self.result_label.setText("\n".join([held_out_figures(version), *risks]))
        self.result_label.setStyleSheet(WARNING_STYLE if risks else "")
        self.activate_button.setText(f"Make version {version.version} active and re-predict unreviewed faces")
        self.activate_button.show()

    def _on_uncertainty_moved(self, text: str) -> None:
        self._say(text)

    def _on_run_ended(self, message: str) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self._say(message, error=not message.startswith("Cancelled"))


def held_out_faces(version) -> int:
    return version.after.get("faces", len(version.validation))


def held_out_figures(version) -> str:
    """A version's figures on its held-out faces, before and after (those of the model saved)."""
    return (f"On the {held_out_faces(version)} held-out faces: NME_io {change(version)}, NME_box "
            f"{change(version, 'nme_box')}, mean uncertainty {change(version, 'uncertainty')} "
            f"(version {version.parent} → version {version.version}; lower is better).{how_made(version)}")


def how_made(version) -> str:
    """The share of fine-tuned weights a version kept, on which faces it was chosen, and
    its ellipses' scale; empty for a version made before fine-tuning said them."""
    share, calibration = version.config.get("share"), version.config.get("calibration")
    if share is None:
        return ""
    tried = version.config.get("share_figures")
    chosen = (f", chosen among {len(tried)} blends on those held-out faces (so their figures after are a "
              "little optimistic)" if tried else "")
    scaled = (" It is calibrated to those faces: its points move by the folder's offsets (up to "
              f"{max(calibration['largest_offsets_percent_io'].values(), default=0):g} % of the inter-ocular "
              f"distance) and its ellipses are scaled by {calibration['covariance_scale']:g}."
              if calibration else " Its ellipses keep the starting model's scale (too few held-out faces to "
              "calibrate it).")
    return f" It keeps {100 * share:g} % of the fine-tuned weights{chosen}.{scaled}"


def ask_make_active(parent: QWidget, version, risks: list[str]) -> bool:
    """True when the user makes ``version`` active despite ``risks``; keeping the model in
    use is the default."""
    box = QMessageBox(QMessageBox.Icon.Warning, f"Make version {version.version} active?",
                      f"Make version {version.version} active? {held_out_figures(version)}\n\n"
                      + "\n".join(f"• {risk}" for risk in risks)
                      + "\n\nMade active, it predicts again every face nobody has reviewed or edited.",
                      parent=parent)
    make_active = box.addButton(f"Make Version {version.version} Active", QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton("Keep the Current Model", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is make_active


def ask_stop_fine_tune(parent: QWidget) -> bool:
    """Asked on quitting while a fine-tuning run is going: True to stop it and quit (its
    model is lost); keeping working is the default."""
    box = QMessageBox(QMessageBox.Icon.Question, "Stop fine-tuning and quit?",
                      "A fine-tuning run is going: stop it and quit? Its model will not be saved.", parent=parent)
    stop = box.addButton("Stop It and Quit", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep Working", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is stop
