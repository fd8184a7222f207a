"""Image loading: any common format to 8-bit RGB, EXIF orientation honoured."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
# Refuse decoding anything larger: a forged header can ask for terabytes.
MAX_PIXELS = 20000 * 20000 // 2


class ImageReadError(IOError):
    """An image file that cannot be decoded; the message says why."""


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Return the image as an (H, W, 3) uint8 RGB array, rotated as its EXIF tag says."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # fromfile copes with any unicode name
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"{path.name}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if data.size == 0:
        raise ImageReadError(f"{path.name}: empty file")
    return decode_image(data, path.name)


def decode_image(data: np.ndarray, name: str = "image") -> np.ndarray:
    width, height = _header_size(data)
    if width * height > MAX_PIXELS:
        raise ImageReadError(f"{name}: {width}×{height} pixels is too large to open")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)  # honours EXIF only with IMREAD_COLOR
    except cv2.error:
        image = None
    if image is None:
        raise ImageReadError(f"{name}: not a readable image (corrupt, truncated or unsupported format)")
    image = _to_rgb8(image, name)
    orientation = _exif_orientation(data)
    return _apply_orientation(image, orientation)


def _header_size(data: np.ndarray) -> tuple[int, int]:
    """Image size from the header without decoding; (0, 0) when unknown."""
    head = data[:64].tobytes()
    if head.startswith(b"\x89PNG") and len(head) >= 24:
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head.startswith(b"\xff\xd8"):
        buf = data.tobytes()
        i = 2
        while i + 9 < len(buf):
            if buf[i] != 0xFF:
                return 0, 0
            marker = buf[i + 1]
            length = int.from_bytes(buf[i + 2:i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(buf[i + 7:i + 9], "big"), int.from_bytes(buf[i + 5:i + 7], "big")
            i += 2 + length
    return 0, 0


def _to_rgb8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(image * 255.0, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageReadError(f"{name}: unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise ImageReadError(f"{name}: {channels} colour channels are not supported")


def _exif_orientation(data: np.ndarray) -> int:
    """The EXIF orientation tag (1..8) of a JPEG, 1 when absent."""
    buf = data[:65536].tobytes()
    start = buf.find(b"Exif\x00\x00")
    if start < 0:
        return 1
    tiff = buf[start + 6:]
    if len(tiff) < 8:
        return 1
    order = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    count = int.from_bytes(tiff[ifd:ifd + 2], order)
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(tiff):
            break
        if int.from_bytes(tiff[entry:entry + 2], order) == 0x0112:
            value = int.from_bytes(tiff[entry + 8:entry + 10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip pixels so the image looks as the camera meant (EXIF 1..8)."""
    transforms = {
        2: lambda im: im[:, ::-1],                   # mirrored left-right
        3: lambda im: im[::-1, ::-1],                # rotated 180
        4: lambda im: im[::-1, :],                   # mirrored top-bottom
        5: lambda im: im.transpose(1, 0, 2),         # transpose
        6: lambda im: np.rot90(im, k=-1),            # camera rotated 90 clockwise
        7: lambda im: im.transpose(1, 0, 2)[::-1, ::-1],  # transverse
        8: lambda im: np.rot90(im, k=1),             # camera rotated 90 anticlockwise
    }
    if orientation in transforms:
        image = transforms[orientation](image)
    return np.ascontiguousarray(image)
