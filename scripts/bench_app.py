"""How UGLLI Review copes with a big folder: time to open it until the face list is
shown, time to scroll through it selecting every face, and resident memory.

    QT_QPA_PLATFORM=offscreen python scripts/bench_app.py [--counts 10000 50000] [--stride 1]

Generates small JPEG crops with a 300-W style MANIFEST.csv (one face box each) in a
temporary folder, opens it in the real main window (prediction off: this measures the
app, not the model), then opens it a second time (state now read from the review
database), then selects faces row by row. Memory is VmRSS / VmHWM of this process.
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


def open_timed(app, window, folder: Path) -> float:
    start = time.perf_counter()
    assert window.open_folder(folder), window.notices.messages
    window.table.viewport().repaint()
    app.processEvents()
    return time.perf_counter() - start


def bench(app, count: int, stride: int) -> None:
    from app.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="uglli-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        generate(folder, count)
        print(f"\n{count} images ({IMAGE_SIZE}×{IMAGE_SIZE} JPEG + MANIFEST.csv) generated in "
              f"{time.perf_counter() - start:.1f} s")
        window = MainWindow(auto_predict=False)
        window.show()
        app.processEvents()
        first = open_timed(app, window, folder)
        rows = window.faces.rowCount()
        print(f"open, first time (scan + database):  {first:6.2f} s   ({rows} rows listed)")
        window.close_project()
        again = open_timed(app, window, folder)
        print(f"open again (from the database):      {again:6.2f} s")
        rss, _ = memory_mib()
        print(f"resident memory after opening:       {rss:6.0f} MiB")
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
        print(f"scrolled through {selected} faces:    {scroll:6.2f} s   ({1000 * scroll / selected:.1f} ms per face)")
        print(f"resident memory after scrolling:     {rss:6.0f} MiB   (peak {peak:.0f} MiB)")
        window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000], help="folder sizes to try")
    parser.add_argument("--stride", type=int, default=1, help="select every STRIDE-th face when scrolling")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    torch.set_num_threads(1)
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    rss, _ = memory_mib()
    print(f"resident memory before any folder:   {rss:6.0f} MiB (Python, torch, Qt)")
    for count in args.counts:
        bench(app, count, args.stride)


if __name__ == "__main__":
    main()
