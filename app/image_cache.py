"""A small LRU of decoded images as QPixmaps, so memory stays bounded in big folders."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtGui import QImage, QPixmap

from uglli_core import load_image

DEFAULT_CAPACITY = 8


class PixmapCache:
    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.capacity = capacity
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
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)
        return pixmap

    def __len__(self) -> int:
        return len(self._pixmaps)

    def clear(self) -> None:
        self._pixmaps.clear()
