"""A small LRU of decoded images as QPixmaps, so memory stays bounded in big folders.

Bounded by bytes, not by count: eight 24-megapixel photos would take ~740 MiB, eight
crops a few MiB. The most recent image is always kept, however large.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtGui import QImage, QPixmap

from uglli_core import load_image

DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024


class PixmapCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        self.budget_bytes = budget_bytes
        self._pixmaps: OrderedDict[Path, QPixmap] = OrderedDict()

    def get(self, path: Path) -> QPixmap:
        """The image at ``path``, decoded as :func:`uglli_core.load_image` does (EXIF
        orientation honoured); raises ImageReadError."""
        if path in self._pixmaps:
            self._pixmaps.move_to_end(path)
            return self._pixmaps[path]
        rgb = load_image(path)
        height, width = rgb.shape[:2]
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        pixmap = QPixmap.fromImage(image)  # copies the pixels: ``rgb`` may go
        self._pixmaps[path] = pixmap
        while len(self._pixmaps) > 1 and self.size_bytes() > self.budget_bytes:
            self._pixmaps.popitem(last=False)
        return pixmap

    def size_bytes(self) -> int:
        return sum(p.width() * p.height() * max(p.depth(), 8) // 8 for p in self._pixmaps.values())

    def __len__(self) -> int:
        return len(self._pixmaps)

    def clear(self) -> None:
        self._pixmaps.clear()
