"""How UGLLI Review copes with a big folder: opening it, browsing it, predicting over it.

    QT_QPA_PLATFORM=offscreen python scripts/bench_app.py [--counts 10000 50000] [--stride 10]

Generates small JPEG crops with a 300-W style MANIFEST.csv (one face box each) in a
temporary folder and drives the real main window:

* open the folder as ``MainWindow.open_folder`` does (read on a worker thread), then
  once more from the review database. The *longest GUI stall* is the longest gap
  between the ticks of a 5 ms QTimer: how long the window could not paint or answer;
* predict with a model (a tiny random one unless ``--model``) for a few seconds,
  cancel, predict again: how long the cancel takes, whether the second run sends only
  the faces still waiting, and the GUI stalls meanwhile;
* give every face a prediction, as after a full run (without the model's time), and
  open the folder again: the database's size and the time to load it;
* select faces row by row, every STRIDE-th: time per face and resident memory
  (VmRSS; VmHWM is the peak). Images are decoded on demand into a 256 MiB cache;
* browse PHOTOS 12-megapixel photos: the memory that cache takes with large images.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

IMAGE_SIZE = 160
HEARTBEAT_MS = 5
PREDICT_S = 6.0


def generate(folder: Path, count: int) -> None:
    """``count`` distinct grey JPEGs with a pale ellipse, and their manifest rows."""
    rng = np.random.default_rng(0)
    rows = ["path,det_x0,det_y0,det_x1,det_y1"]
    for k in range(count):
        sub = folder / f"batch{k // 1000:03d}"
        sub.mkdir(exist_ok=True)
        image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), rng.integers(40, 120), np.uint8)
        cx, cy = rng.integers(60, 100, 2)
        cv2.ellipse(image, (int(cx), int(cy)), (40, 52), 0, 0, 360, (200, 180, 170), -1)
        name = f"{sub.name}/face_{k:06d}.jpg"
        cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        rows.append(f"{name},{cx - 45},{cy - 55},{cx + 45},{cy + 55}")
    (folder / "MANIFEST.csv").write_text("\n".join(rows) + "\n")


def memory_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))


class Heartbeat:
    """Ticks of a fast QTimer on the GUI thread; a long gap is a frozen window."""

    def __init__(self, app):
        from PySide6.QtCore import QTimer
        self.app = app
        self.ticks: list[float] = []
        self.timer = QTimer(interval=HEARTBEAT_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))
        self.timer.start()

    def measure(self, action) -> tuple[float, float]:
        """(seconds ``action`` took, longest gap between ticks from its start until the
        event loop ran again after it)."""
        self.app.processEvents()
        self.ticks = [time.perf_counter()]
        action()
        elapsed = time.perf_counter() - self.ticks[0]
        self.app.processEvents()
        self.ticks.append(time.perf_counter())
        return elapsed, self.longest()

    def run_for(self, seconds: float, until=lambda: False) -> float:
        """Run the event loop for ``seconds`` (or until ``until()``); the longest gap."""
        self.ticks = [time.perf_counter()]
        end = self.ticks[0] + seconds
        while time.perf_counter() < end and not until():
            self.app.processEvents()
            time.sleep(0.001)
        self.ticks.append(time.perf_counter())
        return self.longest()

    def longest(self) -> float:
        return float(np.diff(self.ticks).max()) if len(self.ticks) > 1 else 0.0


def tiny_model(folder: Path) -> Path:
    import torch

    from uglli_core.nets.checkpoint import save_checkpoint
    from uglli_core.nets.model import ModelConfig, UGLLINet
    torch.manual_seed(0)
    path = folder / "tiny.pt"
    save_checkpoint(path, UGLLINet(ModelConfig(n_stacks=1, channels=16)))
    return path


def bench(app, count: int, stride: int, model: Path | None) -> None:
    from app.window.main_window import MainWindow
    from uglli_core import FacePrediction

    with tempfile.TemporaryDirectory(prefix="uglli-bench-") as tmp:
        folder = Path(tmp) / "faces"
        folder.mkdir()
        start = time.perf_counter()
        generate(folder, count)
        print(f"\n{count} images ({IMAGE_SIZE}×{IMAGE_SIZE} JPEG + MANIFEST.csv) generated in "
              f"{time.perf_counter() - start:.1f} s")
        model = model or tiny_model(Path(tmp))
        window = MainWindow(model, auto_predict=False)
        window.show()
        heart = Heartbeat(app)
        app.processEvents()

        def open_it():
            assert window.open_folder(folder), window.notices.messages
            window.table.viewport().repaint()

        seconds, stall = heart.measure(open_it)
        rows = window.faces.rowCount()
        print(f"open, first time:                {seconds:6.2f} s   longest GUI stall "
              f"{1000 * stall:6.0f} ms   ({rows} rows listed)")
        window.close_project()
        seconds, stall = heart.measure(open_it)
        print(f"open again (from the database):  {seconds:6.2f} s   longest GUI stall {1000 * stall:6.0f} ms")
        rss, _ = memory_mib()
        print(f"resident memory after opening:                  {rss:6.0f} MiB")

        # Predict for a while, cancel, predict again: only the faces still waiting are sent.
        prediction = window.prediction
        totals = []
        prediction.progress.connect(lambda done, total: totals.append(total))
        started = time.perf_counter()
        window.predicting.predict_now()
        stall = heart.run_for(PREDICT_S, until=lambda: not prediction.running)
        predicting = time.perf_counter() - started
        seconds, _ = heart.measure(lambda: window.actions["cancel_prediction"].trigger())
        start = time.perf_counter()
        heart.run_for(60, until=lambda: not prediction.running)
        stopped = time.perf_counter() - start
        predicted = sum(face.prediction is not None for face in window.project.faces())
        print(f"predicted {predicted} faces in {predicting:.1f} s ({predicted / predicting:.0f}"
              f"/s); longest GUI stall meanwhile {1000 * stall:.0f} ms; cancelled: stopped {stopped:.2f} s later")
        totals.clear()
        seconds, stall = heart.measure(window.predicting.predict_now)
        heart.run_for(1.0)
        waiting = len(window.project.pending_work())
        print(f"predict again: {seconds:.2f} s to start; {max(totals, default=0)} images sent "
              f"(= {count - predicted} still waiting: {max(totals, default=0) == count - predicted}); "
              f"{waiting} images left after 1 s more")
        prediction.cancel()
        heart.run_for(60, until=lambda: not prediction.running)

        # As after a full run: every face predicted; then reopen from the database.
        project = window.project
        rng = np.random.default_rng(1)
        waiting_faces = [face for face in project.faces() if face.prediction is None]
        start = time.perf_counter()
        for k in range(0, len(waiting_faces), 2000):
            chunk = waiting_faces[k:k + 2000]
            project.record_predictions([(face, FacePrediction(
                face.box, rng.uniform(40, 120, (68, 2)), np.tile(np.diag([4.0, 6.0]), (68, 1, 1))))
                for face in chunk])
        app.processEvents()
        print(f"recorded {len(waiting_faces)} predictions in {time.perf_counter() - start:.1f} s")
        window.close_project()
        database = folder / ".uglli" / "review.sqlite"
        seconds, stall = heart.measure(open_it)
        print(f"open again, every face predicted ({database.stat().st_size / 2**20:.0f} MiB database): "
              f"{seconds:6.2f} s   longest GUI stall {1000 * stall:6.0f} ms")
        rss, _ = memory_mib()
        print(f"resident memory after opening:                  {rss:6.0f} MiB")
        seconds, _ = heart.measure(window.document_events.refresh_scores)
        print(f"re-sort the list and redraw the histogram (after predictions arrive): {1000 * seconds:.0f} ms")

        start = time.perf_counter()
        selected = 0
        for row in range(0, rows, stride):
            window.table.selectRow(row)
            selected += 1
            if selected % 50 == 0:
                app.processEvents()
        app.processEvents()
        scroll = time.perf_counter() - start
        assert window.canvas.face is window.faces.row_at(row).face
        rss, peak = memory_mib()
        print(f"selected {selected} faces one by one:          {scroll:6.2f} s   "
              f"({1000 * scroll / selected:.1f} ms per face)")
        print(f"resident memory after browsing:                 {rss:6.0f} MiB   (peak {peak:.0f} MiB; "
              f"{len(window.pixmaps)} images cached)")
        window.close()


def bench_photos(app, count: int) -> None:
    """Browse ``count`` 12-megapixel photos: what the decoded-image cache holds."""
    from app.window.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="uglli-bench-photos-") as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(2)
        small = rng.integers(0, 255, (300, 400, 3), np.uint8)
        for k in range(count):
            photo = cv2.resize(np.roll(small, 7 * k, axis=1), (4000, 3000), interpolation=cv2.INTER_LINEAR)
            cv2.imwrite(str(folder / f"photo{k:02d}.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
        window = MainWindow(Path(tmp) / "no-model.pt", auto_predict=False)
        window.show()
        app.processEvents()
        rss_before, _ = memory_mib()
        window.open_folder(folder)
        start = time.perf_counter()
        for row in range(window.faces.rowCount()):
            window.table.selectRow(row)
            app.processEvents()
        seconds = time.perf_counter() - start
        rss, peak = memory_mib()
        print(f"\nbrowsed {count} photos of 4000×3000: {1000 * seconds / count:.0f} ms per photo; resident memory "
              f"{rss_before:.0f} → {rss:.0f} MiB (peak {peak:.0f} MiB, {len(window.pixmaps)} images cached)")
        window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000], help="folder sizes to try")
    parser.add_argument("--stride", type=int, default=10, help="select every STRIDE-th face when browsing")
    parser.add_argument("--model", type=Path, help="model to predict with (default: a tiny random one)")
    parser.add_argument("--photos", type=int, default=12, help="12-megapixel photos to browse (0: none)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    torch.set_num_threads(1)
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    rss, _ = memory_mib()
    print(f"resident memory before any folder:   {rss:6.0f} MiB (Python, torch, Qt)")
    for count in args.counts:
        bench(app, count, args.stride, args.model)
    if args.photos:
        bench_photos(app, args.photos)


if __name__ == "__main__":
    main()
