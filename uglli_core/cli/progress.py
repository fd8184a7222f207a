"""Progress of a long ``uglli`` command on stderr: a bar on a terminal, JSON lines when
asked for, nothing otherwise (stdout stays for the command's result).

A reporter takes the progress events of :func:`uglli_core.training.train.fit` (``prepare``,
``step``, ``epoch`` …) and those of ``predict`` and ``evaluate`` (``{"event": ...,
"done": n, "total": m}``).
"""
from __future__ import annotations

import shutil
import sys
import time

from ..files import json_text

MODES = ("auto", "bar", "json", "none")
REDRAW_S = 0.1      # a bar is redrawn at most this often (a step event may come every few ms)
BAR_WIDTH = 30
MILESTONES = {   # train's other events, as lines
    "prepare": "preparing {faces} faces",
    "resume": "resuming after epoch {epoch}",
    "cancelled": "cancelled during epoch {epoch}",
    "paused": "paused after epoch {epoch} ({reason}); run the same command again to go on",
}


class ProgressReporter:
    """Call it with each event; :meth:`close` ends the bar's line. ``auto``: a bar when
    ``stream`` is a terminal, else nothing."""

    def __init__(self, mode: str = "auto", stream=None):
        if mode not in MODES:
            raise ValueError(f"progress must be one of {', '.join(MODES)}")
        self.stream = sys.stderr if stream is None else stream
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "none"
        self.mode = mode
        self._drawn = 0.0          # when the bar was last drawn
        self._open = False         # a bar line is on screen, not yet ended

    def __call__(self, event: dict) -> None:
        if self.mode == "json":
            self._write(json_text.dumps(event) + "\n")
        elif self.mode == "bar":
            self._show(event)

    def close(self) -> None:
        if self._open:
            self._write("\n")
            self._open = False

    def _show(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "step":
            epochs = event.get("epochs")
            label = f"epoch {event['epoch'] + 1}" + (f"/{epochs}" if epochs else "")
            self._bar(label, event["step"] + 1, event["steps"], f"loss {event['loss']:.4g}")
        elif kind == "epoch":
            nme = (event.get("val") or {}).get("nme_io")
            self._line(f"epoch {event['epoch']}/{event.get('epochs', '?')}: training loss {event['train_loss']:.4g}"
                       + (f", validation NME_io {nme:.2f} %" if nme is not None else "")
                       + f" ({event.get('seconds', 0):.0f} s)")
        elif "done" in event and "total" in event:
            detail = f"{event['faces']} faces" if "faces" in event else ""
            self._bar(kind, event["done"], event["total"], detail, last=event["done"] >= event["total"])
        elif kind in MILESTONES:
            self._line(MILESTONES[kind].format(**event))

    def _bar(self, label: str, done: int, total: int, detail: str, last: bool = False) -> None:
        now = time.monotonic()
        if now - self._drawn < REDRAW_S and not last:
            return
        self._drawn = now
        filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
        text = f"{label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {detail}".rstrip()
        width = shutil.get_terminal_size().columns - 1
        self._write("\r" + text[:width].ljust(width))
        self._open = True

    def _line(self, text: str) -> None:
        """A line that stays (the bar, if any, goes on below it)."""
        self._write(("\r" if self._open else "") + text.ljust(shutil.get_terminal_size().columns - 1) + "\n")
        self._open = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
