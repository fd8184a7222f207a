"""Image loading: any common format to 8-bit RGB, EXIF orientation honoured."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
# Refuse decoding anything larger: a forged header can ask for terabytes.
MAX_PIXELS = 20000 * 20000 // 2
# Refuse reading files larger than this (an uncompressed 16-bit RGBA image of MAX_PIXELS):
# the whole file is read into memory before decoding.
MAX_FILE_BYTES = 8 * MAX_PIXELS


class ImageReadError(IOError):
    """An image file that cannot be decoded; the message says why."""


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Return the image as an (H, W, 3) uint8 RGB array, rotated as its EXIF tag says."""
    path = Path(path)
    size = _file_size(path)
    if size > MAX_FILE_BYTES:
        raise ImageReadError(f"{path.name}: {size / 2**30:.1f} GiB is too large to open")
    try:
        data = np.fromfile(path, dtype=np.uint8)  # fromfile copes with any unicode name
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"{path.name}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    except MemoryError:
        raise ImageReadError(f"{path.name}: too large to open (out of memory)") from None
    if data.size == 0:
        raise ImageReadError(f"{path.name}: empty file")
    return decode_image(data, path.name)


def _file_size(path: Path) -> int:
    """Size in bytes of a regular file; :class:`ImageReadError` for anything else
    (a FIFO would block a read forever, a device would never end)."""
    try:
        info = path.stat()
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"{path.name}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(f"{path.name}: not a regular file")
    return info.st_size


def decode_image(data: np.ndarray, name: str = "image") -> np.ndarray:
    """Decode the bytes of an image file like :func:`load_image`; ``name`` is for messages."""
    kind = _format(data)
    width, height = _header_size(data)
    if width * height > MAX_PIXELS:
        raise ImageReadError(f"{name}: {width}×{height} pixels is too large to open")
    if kind == "JPEG" and _jpeg_truncated(data):
        raise ImageReadError(f"{name}: not a readable image (truncated JPEG data: the file ends early)")
    try:
        try:
            image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)  # honours EXIF only with IMREAD_COLOR
        except cv2.error:
            image = None
        if image is None:
            if kind:
                raise ImageReadError(f"{name}: not a readable image (corrupt or truncated {kind} data)")
            raise ImageReadError(f"{name}: not a readable image (the content is not a known image format)")
        image = _to_rgb8(image, name)
        return _apply_orientation(image, _exif_orientation(data))
    except MemoryError:
        raise ImageReadError(f"{name}: too large to open (out of memory)") from None


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of an image as :func:`load_image` would return it, read from the
    file's header without decoding the pixels; None when the header does not say."""
    try:
        _file_size(Path(path))
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
            data = np.frombuffer(head, np.uint8)
            if _header_size(data) == (0, 0):
                if head.startswith(b"\xff\xd8"):  # large EXIF or ICC segments before the frame header
                    data = np.frombuffer(head + handle.read(1 << 20), np.uint8)
                elif head[:4] in (b"II*\x00", b"MM\x00*"):  # the directory is often after the pixels
                    order = "little" if head[:2] == b"II" else "big"
                    handle.seek(int.from_bytes(head[4:8], order))
                    moved = head[:4] + (8).to_bytes(4, order) + handle.read(2 + 12 * 512)
                    return _oriented(_tiff_size(moved), 1)
    except (ImageReadError, OSError, ValueError):
        return None
    return _oriented(_header_size(data), _exif_orientation(data))


def _oriented(size: tuple[int, int], orientation: int) -> tuple[int, int] | None:
    width, height = size
    if width <= 0 or height <= 0:
        return None
    return (height, width) if orientation >= 5 else (width, height)


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder``, sorted, skipping hidden files and folders.

    Links to folders are not followed, so a link that points back up the tree cannot
    make the walk loop; links to files are listed (``load_image`` reports broken ones).
    Hidden entries are skipped: tools' own state and junk such as macOS ``._IMG_1.jpg``.
    """
    found = []
    for root, dirs, files in os.walk(folder):  # followlinks=False; unreadable folders are skipped
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files if not f.startswith(".") and is_image_file(f)]
    return sorted(found)


# A face box may stick out of its image (a face cut by the border), but one that misses
# the image entirely, or is many times its size, belongs to another image or another
# scale, and would show the model nothing but padding.
MAX_BOX_TO_IMAGE = 4.0


def box_problem(box, size: tuple[int, int], what: str = "box") -> str | None:
    """Why ``box`` (x0, y0, x1, y1) cannot be a face in an image of ``size`` (width,
    height) pixels, or None when it can."""
    x0, y0, x1, y1 = (float(v) for v in box)
    width, height = size
    shown = "(" + ", ".join(f"{v:.6g}" for v in (x0, y0, x1, y1)) + ")"
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        return f"{what} {shown}: entirely outside the {width}×{height} image"
    if max(x1 - x0, y1 - y0) > MAX_BOX_TO_IMAGE * max(width, height):
        return f"{what} {shown}: far larger than the {width}×{height} image"
    return None


def _format(data: np.ndarray) -> str:
    """The image format the first bytes announce, "" when none of those we read."""
    head = data[:12].tobytes()
    for magic, kind in ((b"\xff\xd8", "JPEG"), (b"\x89PNG", "PNG"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
                        (b"MM\x00*", "TIFF"), (b"GIF8", "GIF")):
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP"
    return ""


def _header_size(data: np.ndarray) -> tuple[int, int]:
    """Image size from the header without decoding; (0, 0) when unknown."""
    head = data[:64].tobytes()
    if head.startswith(b"\x89PNG") and len(head) >= 24:
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head.startswith(b"\xff\xd8"):
        width, height, _ = _jpeg_layout(data.tobytes())
        return width, height
    if head.startswith(b"BM") and len(head) >= 26:
        if int.from_bytes(head[14:18], "little") == 12:  # the old OS/2 header: 16-bit sizes
            return int.from_bytes(head[18:20], "little"), int.from_bytes(head[20:22], "little")
        width = int.from_bytes(head[18:22], "little", signed=True)
        height = int.from_bytes(head[22:26], "little", signed=True)  # negative: stored top-down
        return abs(width), abs(height)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_size(data.tobytes())
    return 0, 0


_JPEG_FRAMES = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
_JPEG_NO_LENGTH = (0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8)


def _jpeg_layout(buf: bytes) -> tuple[int, int, int]:
    """(width, height, offset where the first scan's data starts) of a JPEG, 0s when not found."""
    width = height = 0
    i = 2
    while i + 4 <= len(buf):
        if buf[i] != 0xFF:
            break
        marker = buf[i + 1]
        if marker == 0xFF:          # fill byte before a marker
            i += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            i += 2
            continue
        length = int.from_bytes(buf[i + 2:i + 4], "big")
        if marker in _JPEG_FRAMES and i + 9 <= len(buf):
            height, width = int.from_bytes(buf[i + 5:i + 7], "big"), int.from_bytes(buf[i + 7:i + 9], "big")
        if marker == 0xDA:
            return width, height, i + 2 + length
        i += 2 + length
    return width, height, 0


def _jpeg_truncated(data: np.ndarray) -> bool:
    """True when a JPEG's scan data has no end-of-image marker after it: the file was cut
    short (a partial download or copy). Some decoders would show it half grey instead."""
    buf = data.tobytes()
    _, _, scan = _jpeg_layout(buf)
    return scan > 0 and buf.find(b"\xff\xd9", scan) < 0


def _tiff_size(buf: bytes) -> tuple[int, int]:
    """(ImageWidth, ImageLength) of a TIFF's first image, (0, 0) when not found."""
    order = "little" if buf[:2] == b"II" else "big"
    ifd = int.from_bytes(buf[4:8], order)
    if ifd + 2 > len(buf):
        return 0, 0
    size = {}
    for k in range(int.from_bytes(buf[ifd:ifd + 2], order)):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(buf):
            break
        tag, kind = int.from_bytes(buf[entry:entry + 2], order), int.from_bytes(buf[entry + 2:entry + 4], order)
        if tag in (256, 257) and kind in (3, 4):   # SHORT or LONG
            size[tag] = int.from_bytes(buf[entry + 8:entry + (10 if kind == 3 else 12)], order)
    return size.get(256, 0), size.get(257, 0)


def _to_rgb8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        # Floating-point TIFFs hold 0..1 by convention, but some tools write 0..255.
        image = np.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if image.max() <= 1.0 else 1.0
        image = np.clip(image * scale, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageReadError(f"{name}: unsupported pixel type {image.dtype} (only 8-bit, 16-bit or float)")
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
