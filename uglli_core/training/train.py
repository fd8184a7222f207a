"""Training, read top to bottom: one dataclass config per run, one loop for the CLI,
fine-tuning from the app and multi-process runs under ``torchrun``.

The default recipe trains from scratch in two phases (see README, "Training"):
``warmup_epochs`` of an L1 loss on the ReLU means while the CEN learns the Gaussian
log-likelihood on detached means and a detached bottleneck, then the full GLL of the
paper on every hourglass with gradient clipping.
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from ..files import json_text
from ..files.records import FaceRecord
from ..maths.metrics import landmark_metrics, summary
from ..nets.checkpoint import (FRAMER_FIELD, CheckpointError, build_model, cpu_state_dict, load_checkpoint,
                               save_checkpoint)
from ..nets.device import compute_dtype, pick_device
from ..nets.encoder import load_imagenet_weights
from ..nets.model import ModelConfig, UGLLINet, covariance
from ..prior.model_prior import training_prior_field
from .averaging import WeightAverage
from .losses import stacked_loss
from .samples import AugmentConfig, FaceCrops, cut_patches
from .training_boxes import attach_detected_boxes

Progress = Callable[[dict], None]
# Fields of a starting model's file that its descendants keep: how it is run.
INHERITED_FIELDS = ("test_time", FRAMER_FIELD)


@dataclass
class TrainConfig:
    out_dir: str = "runs/default"
    init: str | None = None                 # start from this model file (fine-tuning)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    epochs: int = 60
    batch_size: int = 16
    optimizer: str = "adam"                 # "adam" or "rmsprop" (the paper's)
    lr: float = 1e-3
    lr_milestones: tuple = (0.6, 0.85)      # fractions of ``epochs`` where lr *= lr_gamma
    lr_gamma: float = 0.3
    weight_decay: float = 0.0
    warmup_epochs: int = 8                  # L1 on means first (0 when fine-tuning)
    loss: str = "gll"                       # "gll" (paper) or "mse" (ablation: Σ = I)
    hourglass_weights: tuple | None = None  # λᵢ; equal by default
    heatmap_weight: float = 0.0             # > 0: also fit the heatmaps to Gaussian bumps
    heatmap_sigma: float = 1.5              # their width, in heatmap cells
    grad_clip: float = 5.0
    average_decay: float | None = None      # keep a moving average of the weights; it is
                                            # what is validated and saved as the model
    seed: int = 0
    device: str | None = None               # None: CUDA when present, else CPU
    precision: str | None = None            # "float32", "bfloat16", "auto"; None: $UGLLI_PRECISION, else auto
    threads: int | None = None              # CPU threads for torch
    max_minutes: float | None = None        # stop after the epoch that passes this; resume later
    log_every: int = 20                     # steps between progress lines

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        values = dict(values)
        values["model"] = ModelConfig(**values.get("model", {}))
        values["augment"] = AugmentConfig(**values.get("augment", {}))
        for key in ("lr_milestones", "hourglass_weights"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass
class TrainResult:
    best_path: Path | None
    last_path: Path | None
    epochs_done: int
    metrics: dict
    history: list
    cancelled: bool = False


def json_lines_printer(stream=sys.stdout) -> Progress:
    """Progress as JSON lines, for other programs to read."""
    def emit(event: dict) -> None:
        stream.write(json_text.dumps(event) + "\n")
        stream.flush()
    return emit


def learning_rate(config: TrainConfig, epoch: int) -> float:
    drops = sum(epoch >= round(m * config.epochs) for m in config.lr_milestones)
    return config.lr * config.lr_gamma ** drops


def fit(config: TrainConfig, train_records: list[FaceRecord], val_records: list[FaceRecord],
        progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train (or resume, or fine-tune) and return where the models were written.

    Writes ``last.pt`` after every epoch and ``best.pt`` whenever validation NME_io
    improves, into ``config.out_dir``. A run with ``last.pt`` present resumes from it.
    """
    progress = progress or (lambda event: None)
    should_stop = should_stop or (lambda: False)
    rank, world = _init_distributed()
    is_main = rank == 0
    emit = progress if is_main else (lambda event: None)
    device = pick_device(config.device if world == 1 or config.device else None)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    out_dir = Path(config.out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"

    # --- model, optimiser, and where we start from
    # a model started from another runs as its parent ran: its framer and test-time options
    # (mirror shift, covariance scales, framing, prior fusion) travel in every checkpoint
    model, parent, state, inherited = _initial_model(config, last_path)
    # channels-last convolutions: measured 1.2× faster training steps on CPU
    memory_format = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    model.to(device, memory_format=memory_format)
    # bfloat16 convolutions where the CPU has them natively (the losses stay float32)
    model.compute_dtype = compute_dtype(device, config.precision)
    optimiser = _optimiser(config, model)
    average = WeightAverage(model, config.average_decay) if config.average_decay else None
    start_epoch, history, best = 0, [], math.inf
    if state is not None:
        optimiser.load_state_dict(state["optimizer"])
        if average is not None:
            average.load_state_dict(state["state_dict"])
        start_epoch, history = state["epoch"], state.get("history", [])
        best = state.get("best_nme_io", math.inf)
        emit({"event": "resume", "epoch": start_epoch})
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)

    # --- data: cut patches once, then augment on the fly
    emit({"event": "prepare", "faces": len(train_records) + len(val_records)})
    input_size = config.model.input_size
    if config.augment.detector_box:  # once per run, then read back from the run folder
        attach_detected_boxes(train_records, out_dir, config.seed,
                              lambda done, total: emit({"event": "detect", "done": done, "total": total}))
    train_set = FaceCrops(cut_patches(train_records, input_size), input_size, config.augment, config.seed)
    val_set = FaceCrops(cut_patches(val_records, input_size), input_size) if val_records else None
    # the shape prior that lets a correction move the other points (LandmarkPredictor.refine)
    shape_prior = training_prior_field(train_records, config.init)
    sampler = DistributedSampler(train_set, world, rank, seed=config.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
                        generator=generator if sampler is None else None, drop_last=len(train_set) > config.batch_size)

    # --- the loop
    started, metrics, cancelled = time.monotonic(), {}, False
    for epoch in range(start_epoch, config.epochs):
        phase = "warmup" if epoch < config.warmup_epochs else config.loss
        lr = learning_rate(config, epoch)
        for group in optimiser.param_groups:
            group["lr"] = lr
        train_set.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        generator.manual_seed(config.seed + epoch)
        model.train()
        losses, epoch_start = [], time.monotonic()
        for step, batch in enumerate(loader):
            if should_stop():
                cancelled = True
                break
            images = batch["image"].to(device).contiguous(memory_format=memory_format)
            target = batch["points"].to(device)
            # occluded points' labels are uncertain; a batch without any trains exactly as before
            variance = batch["label_variance"].to(device) if batch["label_variance"].any() else None
            outputs = model(images, detach_cen=phase == "warmup")
            loss = stacked_loss(outputs, target, phase, config.hourglass_weights, config.heatmap_weight,
                                getattr(model, "module", model).grid, config.heatmap_sigma, variance)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            if average is not None:
                average.update(model)
            losses.append(loss.item())
            if step % config.log_every == 0:
                emit({"event": "step", "epoch": epoch, "step": step, "steps": len(loader),
                      "loss": losses[-1], "phase": phase})
        if cancelled:
            emit({"event": "cancelled", "epoch": epoch})
            break
        served = average.model if average is not None else model  # what is validated and shipped
        metrics = validate(served, val_set, device) if val_set is not None else {}
        record = {"epoch": epoch + 1, "phase": phase, "lr": lr, "train_loss": float(np.mean(losses)),
                  "seconds": round(time.monotonic() - epoch_start, 1), "val": metrics}
        history.append(record)
        emit({"event": "epoch", **record, "epochs": config.epochs})
        if is_main:
            improved = metrics.get("nme_io", math.inf) < best
            best = min(best, metrics.get("nme_io", math.inf))
            fields = dict(train_config=dataclasses.asdict(config), epoch=epoch + 1, metrics=metrics,
                          history=history, parent=parent, best_nme_io=best, shape_prior=shape_prior, **inherited)
            if average is not None:  # the raw weights go on training after a resume
                fields["training_state_dict"] = cpu_state_dict(model)
            save_checkpoint(last_path, served, optimizer=optimiser.state_dict(), **fields)
            if improved or not val_records:
                save_checkpoint(best_path, served, **fields)
        if config.max_minutes and (time.monotonic() - started) / 60 > config.max_minutes:
            emit({"event": "paused", "epoch": epoch + 1, "reason": "max_minutes"})
            break
    if world > 1:
        dist.barrier()
    done = len(history)
    emit({"event": "done", "epochs": done, "cancelled": cancelled, "best": str(best_path)})
    return TrainResult(best_path if best_path.exists() else None, last_path if last_path.exists() else None,
                       done, metrics, history, cancelled)


def _initial_model(config: TrainConfig, last_path: Path) -> tuple[UGLLINet, str | None, dict | None, dict]:
    """Resume from ``last.pt`` if the run has one, else start from ``init`` or scratch:
    the network, its parent, the state to resume and the fields it inherits."""
    if last_path.exists():
        state = load_checkpoint(last_path)
        if state.get("model_config") != dataclasses.asdict(config.model) and config.init is None:
            raise CheckpointError(f"{last_path}: belongs to a run with another model configuration")
        # with weight averaging, the file's model is the average; training goes on from the raw weights
        weights = {**state, "state_dict": state.get("training_state_dict", state["state_dict"])}
        model = build_model(weights)
        config.model = model.config  # a resumed fine-tuning run: the network is the one in the file
        return model, state.get("parent"), state, _inherited_fields(state)
    if config.init:
        init = load_checkpoint(config.init)
        model = build_model(init)
        config.model = model.config  # the network is the one in the file
        return model, str(config.init), None, _inherited_fields(init)
    model = UGLLINet(config.model)
    if config.model.encoder == "mobilenet_v2":
        load_imagenet_weights(model.encoder)
    return model, None, None, {}


def _inherited_fields(checkpoint: dict) -> dict:
    """What a checkpoint needs beyond its weights to run as its ancestor ran."""
    return {key: checkpoint[key] for key in INHERITED_FIELDS if key in checkpoint}


def _optimiser(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def _init_distributed() -> tuple[int, int]:
    """(rank, world size); starts the process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


@torch.inference_mode()
def predict_crops(model: torch.nn.Module, crops: FaceCrops, device: torch.device, batch_size: int = 64):
    """Means (N, 68, 2) and covariances (N, 68, 2, 2) in crop pixels, and the truth."""
    model.eval()
    means, covs, truth = [], [], []
    for batch in DataLoader(crops, batch_size=batch_size):
        [last] = model(batch["image"].to(device), last_only=True)
        means.append(last["means"].cpu())
        covs.append(covariance(last["chol"]).cpu())
        truth.append(batch["points"])
    return (torch.cat(means).double().numpy(), torch.cat(covs).double().numpy(),
            torch.cat(truth).double().numpy())


def validate(model: torch.nn.Module, crops: FaceCrops, device: torch.device) -> dict:
    """Figures on un-augmented crops: NME and uncertainty are unchanged by the
    similarity transform between crop and image, so these equal image-frame figures."""
    module = getattr(model, "module", model)
    means, covs, truth = predict_crops(module, crops, device)
    return {k: round(v, 4) for k, v in summary(landmark_metrics(means, covs, truth)).items()}
