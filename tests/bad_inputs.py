"""Bad (and oddly good) input files, generated, for robustness tests of the core and the app.

Each ``write_*`` function fills a folder and returns what it wrote, file by file: whether
the file must be read (``good``), refused (``good=False``, with a fragment of the reason
the error message must contain) or may go either way (``good=None``: damaged pixel data
that a decoder may show with glitches or refuse). Good images are real faces re-encoded,
so the face detector has something to find; a good image may still yield "no face found"
(a 1×1 image has no face).

    faces = load_faces(datasets)                       # small 300-W crops, RGB, with boxes
    cases = write_image_cases(folder / "images", faces)
    pts_cases = write_pts_cases(folder / "pts")
    rows = write_manifest_rows(folder / "manifest", faces)      # one MANIFEST.csv
    manifests = write_bad_manifests(folder / "manifests", faces)  # one file each

Only OpenCV, Pillow and the standard library are used, never the code under test.
Some cases are special files (a FIFO, links to ``/dev/zero``, link loops, a sparse
3 GiB file): copy nothing out of these folders with tools that follow links.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

FACE_SIDE = 192  # faces are shrunk to this: the detector is quick on them


@dataclass(frozen=True)
class Case:
    name: str              # path relative to the folder, as ``uglli predict FOLDER`` names it
    kind: str              # what sort of input, e.g. "truncated-jpeg"
    good: bool | None      # True: must be read; False: must be refused; None: either
    reason: str = ""       # when refused: a fragment of the message, lower case


@dataclass(frozen=True)
class PtsCase(Case):
    image: str = ""        # the image the .pts file annotates (same stem)
    fits: bool = True      # False: a valid file whose points cannot belong to the image


@dataclass(frozen=True)
class RowCase:
    line: int              # line of MANIFEST.csv (the header is line 1)
    image: str             # the row's path
    kind: str
    good: bool             # True: ``uglli predict --manifest`` gives this face
    reason: str = ""       # when not: a fragment of the error for this line or image
    records_good: bool | None = None  # read_manifest keeps the row (None: same as good)
    image_problem: bool = False       # the row is fine, its image is not: reported when opened

    @property
    def kept(self) -> bool:
        """Whether ``read_manifest`` returns a record for this row."""
        return self.records_good if self.records_good is not None else self.good or self.image_problem


@dataclass(frozen=True)
class Face:
    pixels: np.ndarray     # (H, W, 3) uint8 RGB
    box: tuple[float, float, float, float]   # the 300-W detector box, in these pixels


def load_faces(datasets: Path, count: int = 24, side: int = FACE_SIDE) -> list[Face]:
    """The first ``count`` faces of ``datasets/300w``, shrunk to ``side`` pixels square."""
    root = datasets / "300w"
    with open(root / "MANIFEST.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    faces = []
    for row in rows:
        bgr = cv2.imread(str(root / row["path"]), cv2.IMREAD_COLOR)
        scale = side / bgr.shape[1]
        small = cv2.resize(bgr, (side, round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        box = tuple(float(row[k]) * scale for k in ("det_x0", "det_y0", "det_x1", "det_y1"))
        faces.append(Face(cv2.cvtColor(small, cv2.COLOR_BGR2RGB), box))
    return faces


def synthetic_faces(count: int = 8, side: int = FACE_SIDE) -> list[Face]:
    """Drawn stand-ins for :func:`load_faces` when the shared data sets are absent (the
    detector will rarely take them for faces: good cases then end as "no face found")."""
    faces = []
    for k in range(count):
        pixels = np.full((side, side, 3), 60 + 20 * k, np.uint8)
        centre = (side // 2, side // 2)
        cv2.ellipse(pixels, centre, (side // 3, side * 2 // 5), 0, 0, 360, (224, 180, 150), -1)
        for dx in (-side // 7, side // 7):
            cv2.circle(pixels, (side // 2 + dx, side * 2 // 5), side // 20, (40, 30, 30), -1)
        cv2.ellipse(pixels, (side // 2, side * 2 // 3), (side // 8, side // 20), 0, 0, 180, (120, 40, 40), 3)
        faces.append(Face(pixels, (side / 6, side / 8, side * 5 / 6, side * 15 / 16)))
    return faces


# --- encoders --------------------------------------------------------------------------

def _cv(ext: str, pixels: np.ndarray, params: list[int] | None = None) -> bytes:
    """OpenCV encoding; ``pixels`` RGB(A) or grey, any depth OpenCV writes."""
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = pixels[:, :, ::-1]
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, [2, 1, 0, 3]]
    ok, data = cv2.imencode(ext, np.ascontiguousarray(pixels), params or [])
    assert ok, ext
    return data.tobytes()


def _pil(pixels: np.ndarray, mode: str | None, fmt: str, **options) -> bytes:
    image = Image.fromarray(pixels)
    if mode:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _grey(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)


def _exif_jpeg(jpeg: bytes, orientation: int | None = None, tiff: bytes | None = None) -> bytes:
    """``jpeg`` with an EXIF APP1 segment: the orientation tag, or the raw ``tiff`` given."""
    if tiff is None:
        tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + (1).to_bytes(2, "big")
                + (0x0112).to_bytes(2, "big") + (3).to_bytes(2, "big") + (1).to_bytes(4, "big")
                + orientation.to_bytes(2, "big") + b"\x00\x00" + (0).to_bytes(4, "big"))
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + app1 + jpeg[2:]


def _unorient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera would store so that EXIF ``orientation`` shows ``pixels`` upright."""
    inverse = {1: lambda im: im, 2: lambda im: im[:, ::-1], 3: lambda im: im[::-1, ::-1],
               4: lambda im: im[::-1], 5: lambda im: im.transpose(1, 0, 2),
               6: lambda im: np.rot90(im, 1), 7: lambda im: im[::-1, ::-1].transpose(1, 0, 2),
               8: lambda im: np.rot90(im, -1)}
    return np.ascontiguousarray(inverse[orientation](pixels))


def _tiff_entry_offsets(data: bytes) -> dict[int, int]:
    """Offset of each IFD0 entry of a little-endian TIFF, by tag."""
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd:ifd + 2])[0]
    return {struct.unpack("<H", data[ifd + 2 + 12 * k:ifd + 4 + 12 * k])[0]: ifd + 2 + 12 * k for k in range(count)}


def _tiff_set(data: bytes, tag: int, value: int) -> bytes:
    """Set a SHORT or LONG IFD0 entry of a little-endian TIFF (it becomes a LONG)."""
    out = bytearray(data)
    entry = _tiff_entry_offsets(data)[tag]
    assert struct.unpack("<H", out[entry + 2:entry + 4])[0] in (3, 4), tag
    out[entry + 2:entry + 4] = struct.pack("<H", 4)
    out[entry + 8:entry + 12] = struct.pack("<I", value)
    return bytes(out)


def _jpeg_marker(data: bytes, marker: int) -> int:
    """Offset of the first ``FF marker`` of a plain (EXIF-less) JPEG."""
    at = data.find(bytes((0xFF, marker)), 2)
    assert at > 0, hex(marker)
    return at


def _patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def _garble(data: bytes, offset: int, length: int = 16, seed: int = 0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    return _patch(data, offset, noise)


# --- images ----------------------------------------------------------------------------

def write_image_cases(folder: Path, faces: list[Face], big: bool = True) -> list[Case]:
    """Write about 240 image files (and special files) under ``folder``; returns them.

    ``big=False`` leaves out the two large photos (6000×4000 and 8000×6000), which take
    a second or two each to decode and search for faces.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    counter = iter(range(10**6))

    def face(k: int | None = None) -> np.ndarray:
        return faces[(next(counter) if k is None else k) % len(faces)].pixels

    def add(name: str, data: bytes, kind: str, good: bool | None, reason: str = "") -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        cases.append(Case(name, kind, good, reason))

    def good(name: str, data: bytes, kind: str) -> None:
        add(name, data, kind, True)

    def bad(name: str, data: bytes, kind: str, reason: str) -> None:
        add(name, data, kind, False, reason)

    # Good: every extension, upper case too.
    for ext in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"):
        good(f"plain{ext}", _cv(ext, face()), "plain")
        good(f"UPPER{ext.upper()}", _cv(ext, face()), "upper-case-extension")
    # Grey, 16-bit, alpha, float.
    for ext in (".jpg", ".png", ".bmp", ".tif"):
        good(f"grey{ext}", _cv(ext, _grey(face())), "grey-8-bit")
    good("rgb16.png", _cv(".png", face().astype(np.uint16) * 257), "16-bit")
    good("grey16.png", _cv(".png", _grey(face()).astype(np.uint16) * 257), "16-bit-grey")
    good("rgb16.tif", _cv(".tif", face().astype(np.uint16) * 257), "16-bit")
    good("grey16.tiff", _cv(".tiff", _grey(face()).astype(np.uint16) * 257), "16-bit-grey")
    rgba = np.dstack([face(), np.full(face(0).shape[:2], 200, np.uint8)])
    good("rgba.png", _cv(".png", rgba), "rgba")
    good("rgba.tif", _cv(".tif", rgba), "rgba")
    good("rgba.bmp", _cv(".bmp", rgba), "rgba")
    good("grey-alpha.png", _pil(face(), "LA", "PNG"), "grey-alpha")
    good("grey-alpha.tiff", _pil(face(), "LA", "TIFF"), "grey-alpha")
    good("float01.tif", _cv(".tif", face().astype(np.float32) / 255), "float")
    good("float255.tif", _pil(face(), "F", "TIFF"), "float-0-255")
    with_nan = face().astype(np.float32) / 255
    with_nan[:5, :5] = np.nan
    with_nan[-5:, -5:] = np.inf
    good("float-nan.tiff", _cv(".tiff", with_nan), "float-nan")
    good("float64.tif", _cv(".tif", face().astype(np.float64) / 255), "float64")
    # CMYK, palette, bilevel.
    good("cmyk.jpg", _pil(face(), "CMYK", "JPEG", quality=90), "cmyk-jpeg")
    good("cmyk-low.jpeg", _pil(face(), "CMYK", "JPEG", quality=30), "cmyk-jpeg")
    good("cmyk.tif", _pil(face(), "CMYK", "TIFF"), "cmyk-tiff")
    good("palette.png", _pil(face(), "P", "PNG"), "palette")
    good("palette.bmp", _pil(face(), "P", "BMP"), "palette")
    good("palette.tif", _pil(face(), "P", "TIFF"), "palette")
    good("bilevel.png", _pil(face(), "1", "PNG"), "1-bit")
    good("bilevel.tif", _pil(face(), "1", "TIFF"), "1-bit")
    # Encodings.
    good("progressive.jpg", _pil(face(), None, "JPEG", progressive=True), "progressive-jpeg")
    good("quality2.jpg", _cv(".jpg", face(), [cv2.IMWRITE_JPEG_QUALITY, 2]), "jpeg-quality-2")
    good("quality100.jpg", _cv(".jpg", face(), [cv2.IMWRITE_JPEG_QUALITY, 100]), "jpeg-quality-100")
    good("no-subsampling.jpg", _pil(face(), None, "JPEG", subsampling=0), "jpeg-444")
    good("optimized.jpg", _pil(face(), None, "JPEG", optimize=True), "jpeg-optimized")
    good("restarts.jpg", _cv(".jpg", face(), [cv2.IMWRITE_JPEG_RST_INTERVAL, 2]), "jpeg-restart-markers")
    for compression in ("tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg"):
        good(f"{compression}.tif", _pil(face(), None, "TIFF", compression=compression), "tiff-compression")
    good("png-level0.png", _cv(".png", face(), [cv2.IMWRITE_PNG_COMPRESSION, 0]), "png-uncompressed")
    good("png-level9.png", _cv(".png", face(), [cv2.IMWRITE_PNG_COMPRESSION, 9]), "png-level-9")
    top_down = bytearray(_cv(".bmp", face()[::-1]))          # rows stored top row first
    height = struct.unpack("<i", top_down[22:26])[0]
    top_down[22:26] = struct.pack("<i", -height)
    good("top-down.bmp", bytes(top_down), "bmp-top-down")
    # EXIF orientation: stored turned, shown upright.
    upright = face()  # the same face each time: loaded, all eight look alike
    for orientation in range(1, 9):
        stored = _unorient(upright, orientation)
        good(f"exif-orientation-{orientation}.jpg", _exif_jpeg(_cv(".jpg", stored), orientation), "exif-rotated")
    plain = _cv(".jpg", face())
    broken_exif = {
        "offset-past-end": b"MM\x00\x2a\xff\xff\xff\xf0",
        "huge-entry-count": b"MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x01\x12\x00\x03" * 3,
        "orientation-0": _exif_jpeg(b"\xff\xd8", 0)[12:],
        "orientation-99": _exif_jpeg(b"\xff\xd8", 99)[12:],
        "cut-short": b"MM\x00",
    }
    for label, tiff in broken_exif.items():
        good(f"exif-{label}.jpg", _exif_jpeg(plain, tiff=tiff), "broken-exif")
    # Content that does not match the extension: read by content.
    good("png-inside.jpg", _cv(".png", face()), "mislabelled")
    good("jpeg-inside.png", _cv(".jpg", face()), "mislabelled")
    good("bmp-inside.tiff", _cv(".bmp", face()), "mislabelled")
    good("tiff-inside.bmp", _cv(".tiff", face()), "mislabelled")
    good("webp-inside.jpeg", _pil(face(), None, "WEBP"), "mislabelled")
    good("gif-inside.tif", _pil(face(), None, "GIF"), "mislabelled")
    # Names.
    names = ["visage été.jpg", "😀 smile.png", "顔写真.jpg", "صورة.png", "лицо.bmp", "πρόσωπο.tif",
             "e\u0301combining.jpg", "  leading spaces.jpg", "trailing spaces  .png", "many    spaces.jpg",
             "   .jpg", "semi;colon,comma.png", "quote's \"double\".jpg", "hash#percent%20amp&.png",
             "brackets[1](2){3}.jpg", "dollar$HOME`tick`.png", "star*question?.jpg", "pipe|lt<gt>.png",
             "back\\slash.jpg", "tab\there.png", "new\nline.jpg", "-rf.jpg", "--help.png", "a..b...c.jpg",
             "x" * 200 + ".jpg", "😀" * 60 + ".png"]
    for name in names:
        ext = os.path.splitext(name)[1]
        good(name, _cv(ext, face()), "odd-name")
    raw = os.fsdecode(b"latin1-caf\xe9.jpg")  # not UTF-8: Python carries it as a surrogate
    good(raw, _cv(".jpg", face()), "non-utf8-name")
    # Folders.
    good("a/b/c/d/e/f/g/h/deep.jpg", _cv(".jpg", face()), "nested")
    good("dossier été/photo.png", _cv(".png", face()), "unicode-folder")
    good("album.jpg/inside.jpg", _cv(".jpg", face()), "folder-with-image-extension")
    good("spaced folder /x.png", _cv(".png", face()), "spaced-folder")
    # Sizes.
    good("one-pixel.png", _cv(".png", np.full((1, 1, 3), 90, np.uint8)), "1x1")
    good("tiny.jpg", _cv(".jpg", np.full((3, 2, 3), 90, np.uint8)), "tiny")
    good("odd-size.bmp", _cv(".bmp", np.full((5, 17, 3), 90, np.uint8)), "tiny")
    good("strip-wide.png", _cv(".png", np.full((1, 4000, 3), 90, np.uint8)), "extreme-aspect")
    good("strip-tall.png", _cv(".png", np.full((4000, 1, 3), 90, np.uint8)), "extreme-aspect")
    if big:
        canvas = cv2.resize(face(), (4000, 4000), interpolation=cv2.INTER_LINEAR)
        photo = np.zeros((4000, 6000, 3), np.uint8)
        photo[:, 1000:5000] = canvas
        good("big-photo-6000x4000.jpg", _cv(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 70]), "big-photo")
        good("big-plain-8000x6000.png", _cv(".png", np.full((6000, 8000, 3), 120, np.uint8)), "big-photo")
    # Junk after the end of the image.
    good("trailing-junk.jpg", _cv(".jpg", face()) + b"\x00junk" * 100, "trailing-junk")
    good("trailing-junk.png", _cv(".png", face()) + b"\x00junk" * 100, "trailing-junk")
    # Damaged pixel data: a decoder may show glitches or refuse.
    jpeg = _cv(".jpg", face())
    scan = _jpeg_marker(jpeg, 0xDA) + 20
    for k, at in enumerate((scan + 50, (scan + len(jpeg)) // 2, len(jpeg) - 200)):
        add(f"damaged-scan-{k}.jpg", _garble(jpeg, at, 32, k), "damaged-pixels", None)
    bmp = _cv(".bmp", face())
    add("damaged-pixels.bmp", _garble(bmp, len(bmp) // 2, 64), "damaged-pixels", None)
    tif = _cv(".tif", face())
    add("damaged-pixels.tif", _garble(tif, 1000, 64), "damaged-pixels", None)
    add("damaged-pixels-2.tif", _garble(tif, len(tif) // 3, 64, 1), "damaged-pixels", None)

    # Bad: empty files.
    for ext in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".JPG", ".PNG"):
        bad(f"empty{ext}", b"", "0-byte", "empty file")
    bad("vide été.jpg", b"", "0-byte", "empty file")
    bad("  .png", b"", "0-byte", "empty file")
    # Truncated.
    sources = {"jpg": _cv(".jpg", face()), "png": _cv(".png", face()),
               "bmp": _cv(".bmp", face()), "tif": _cv(".tif", face())}
    cuts = {"jpg": [3, 10, 100, 300, 600, .1, .25, .5, .75, .9, .99, -2],
            "png": [9, 16, 33, 100, .1, .3, .5, .7, .9, -12, -1],
            "bmp": [3, 14, 30, 54, .1, .5, .9, -1],
            "tif": [5, 8, .1, .5, .9, -1]}
    for ext, points in cuts.items():
        data = sources[ext]
        for point in points:
            end = len(data) + point if isinstance(point, int) and point < 0 else (
                int(len(data) * point) if isinstance(point, float) else point)
            bad(f"truncated-{end:06d}.{ext}", data[:end], f"truncated-{ext}", "truncated")
    # Corrupt structure.
    png = sources["png"]
    for offset in (12, 24, 29, 40, 100, 1000, len(png) // 2, len(png) - 20):
        bad(f"corrupt-png-{offset:06d}.png", _patch(png, offset, bytes([png[offset] ^ 0x5A])),
            "corrupt-png", "corrupt")
    jpeg = sources["jpg"]
    sof, dqt, dht, sos = (_jpeg_marker(jpeg, m) for m in (0xC0, 0xDB, 0xC4, 0xDA))
    bad("corrupt-soi.jpg", _patch(jpeg, 0, b"\x00\x00"), "corrupt-jpeg", "not a known image format")
    bad("corrupt-sof-zero-size.jpg", _patch(jpeg, sof + 5, b"\x00\x00\x00\x00"), "corrupt-jpeg", "corrupt")
    bad("corrupt-sof-components.jpg", _patch(jpeg, sof + 9, b"\x07"), "corrupt-jpeg", "corrupt")
    bad("corrupt-dqt-length.jpg", _patch(jpeg, dqt + 2, b"\x00\x01"), "corrupt-jpeg", "corrupt")
    bad("corrupt-dht.jpg", _patch(jpeg, dht + 4, b"\xff" * 17), "corrupt-jpeg", "corrupt")
    bad("corrupt-sos-marker.jpg", _patch(jpeg, sos, b"\x00\x00"), "corrupt-jpeg", "corrupt")
    bad("corrupt-no-markers.jpg", jpeg[:2] + bytes(len(jpeg) - 2), "corrupt-jpeg", "corrupt")
    bmp = sources["bmp"]
    bad("corrupt-bpp.bmp", _patch(bmp, 28, struct.pack("<H", 7)), "corrupt-bmp", "corrupt")
    bad("corrupt-offset.bmp", _patch(bmp, 10, struct.pack("<I", 10**8)), "corrupt-bmp", "corrupt")
    bad("corrupt-width-0.bmp", _patch(bmp, 18, struct.pack("<i", 0)), "corrupt-bmp", "corrupt")
    bad("corrupt-compression.bmp", _patch(bmp, 30, struct.pack("<I", 99)), "corrupt-bmp", "corrupt")
    bad("corrupt-header-size.bmp", _patch(bmp, 14, struct.pack("<I", 0)), "corrupt-bmp", "corrupt")
    tif = sources["tif"]
    bad("corrupt-ifd-offset.tif", _patch(tif, 4, struct.pack("<I", len(tif) + 1000)), "corrupt-tiff", "corrupt")
    bad("corrupt-ifd-empty.tif", _patch(tif, struct.unpack("<I", tif[4:8])[0], b"\x00\x00"), "corrupt-tiff",
        "corrupt")
    bad("corrupt-compression.tif", _tiff_set(tif, 259, 7), "corrupt-tiff", "corrupt")   # raw pixels called JPEG
    bad("corrupt-samples.tif", _tiff_set(tif, 277, 9), "corrupt-tiff", "corrupt")
    bad("corrupt-photometric.tif", _tiff_set(tif, 262, 99), "corrupt-tiff", "corrupt")
    bad("corrupt-strip-offset.tif", _tiff_set(tif, 273, 10**8), "corrupt-tiff", "corrupt")
    # Not images at all.
    seed = np.random.default_rng(7)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a.txt", "hello")
    others = {
        "text.jpg": b"this is not an image\n",
        "html.png": b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
        "pdf.jpg": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n",
        "zip.png": zipped.getvalue(),
        "gzip.tif": gzip.compress(b"not an image" * 100),
        "json.jpeg": b'{"faces": [], "errors": []}\n',
        "csv.bmp": b"path,det_x0,det_y0,det_x1,det_y1\na.jpg,1,2,3,4\n",
        "points.jpg": b"version: 1\nn_points: 68\n{\n" + b"1 2\n" * 68 + b"}\n",
        "script.png": b"#!/bin/sh\necho hello\n",
        "python.tiff": b"import os\nprint(os.getcwd())\n",
        "random-16.jpg": seed.integers(0, 256, 16, dtype=np.uint8).tobytes(),
        "random-1k.png": seed.integers(0, 256, 1024, dtype=np.uint8).tobytes(),
        "random-100k.tif": seed.integers(0, 256, 100_000, dtype=np.uint8).tobytes(),
        "zeros.jpg": bytes(4096),
        "ones.png": b"\xff" * 4096,
        "one-nul.bmp": b"\x00",
        "utf16.jpg": "pas une image".encode("utf-16"),
        "elf.png": b"\x7fELF\x02\x01\x01" + bytes(200),
        "mp4.jpg": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(100),
        "heic.jpg": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100),
        "wave.png": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(100),
        "svg.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n',
    }
    for name, data in others.items():
        bad(f"not-an-image-{name}", data, "not-an-image", "not a known image format")
    # Nothing but a signature.
    for name, data in {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8", "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
                       "bmp": b"BM", "tif": b"II*\x00", "tiff": b"MM\x00*", "gif.png": b"GIF89a"}.items():
        bad(f"signature-only.{name}", data, "signature-only", "not a readable image")
    # Headers that ask for far too many pixels.
    small = np.zeros((4, 4, 3), np.uint8)
    for width, height in ((20000, 20000), (15000, 15000), (65535, 65535), (2**31 - 1, 1), (1, 300_000_000)):
        data = bytearray(_cv(".png", small))
        data[16:24] = struct.pack(">II", width, height)
        bad(f"huge-{width}x{height}.png", bytes(data), "huge-header", "too large")
    jpeg = _cv(".jpg", small)
    sof = _jpeg_marker(jpeg, 0xC0)
    for side in (20000, 65535):
        bad(f"huge-{side}.jpg", _patch(jpeg, sof + 5, struct.pack(">HH", side, side)), "huge-header", "too large")
    bmp = _cv(".bmp", small)
    bad("huge-20000.bmp", _patch(bmp, 18, struct.pack("<ii", 20000, 20000)), "huge-header", "too large")
    bad("huge-top-down.bmp", _patch(bmp, 18, struct.pack("<ii", 20000, -20000)), "huge-header", "too large")
    tif = _cv(".tif", small)
    bad("huge-20000.tif", _tiff_set(_tiff_set(tif, 256, 20000), 257, 20000), "huge-header", "too large")
    bad("huge-100000.tiff", _tiff_set(_tiff_set(tif, 256, 100000), 257, 100000), "huge-header", "too large")
    data = bytearray(_cv(".png", small))
    data[16:24] = struct.pack(">II", 14000, 14000)  # allowed, but the pixels are not there
    bad("big-header-no-pixels.png", bytes(data), "big-header", "not a readable image")
    # Pixel types that are not images we can show.
    bad("int16.tif", _cv(".tif", face().astype(np.int16)), "unsupported-depth", "unsupported pixel type")
    bad("int32.tif", _pil(face(), "I", "TIFF"), "unsupported-depth", "unsupported pixel type")
    bad("int8.tif", _cv(".tif", (face() // 2).astype(np.int8)), "unsupported-depth", "unsupported pixel type")

    # Special files.
    os.mkfifo(folder / "fifo.jpg")
    cases.append(Case("fifo.jpg", "fifo", False, "not a regular file"))
    os.symlink("/dev/zero", folder / "dev-zero.png")
    cases.append(Case("dev-zero.png", "device", False, "not a regular file"))
    os.symlink("loop-b.jpg", folder / "loop-a.jpg")
    os.symlink("loop-a.jpg", folder / "loop-b.jpg")
    os.symlink("self-loop.png", folder / "self-loop.png")
    for name in ("loop-a.jpg", "loop-b.jpg", "self-loop.png"):
        cases.append(Case(name, "symlink-loop", False, "cannot be read"))
    os.symlink("no-such-file.jpg", folder / "dangling.jpg")
    cases.append(Case("dangling.jpg", "dangling-symlink", False, "cannot be read"))
    with open(folder / "sparse-3gib.jpg", "wb") as handle:
        handle.truncate(3 << 30)   # sparse: no disk used
    cases.append(Case("sparse-3gib.jpg", "huge-file", False, "too large"))
    os.symlink("plain.jpg", folder / "link-to-plain.jpg")
    cases.append(Case("link-to-plain.jpg", "symlink", True))
    os.link(folder / "plain.png", folder / "hard-link.png")
    cases.append(Case("hard-link.png", "hard-link", True))
    # Not cases: links to folders (never followed, so never loop) and hidden files.
    (folder / "sub").mkdir(exist_ok=True)
    os.symlink("..", folder / "sub" / "up")
    os.symlink(".", folder / "here.jpg")
    (folder / ".hidden").mkdir(exist_ok=True)
    (folder / ".hidden" / "x.jpg").write_bytes(b"")
    (folder / "._resource-fork.jpg").write_bytes(b"\x00\x05\x16\x07" + bytes(100))
    assert len({c.name for c in cases}) == len(cases), "case names repeat"
    return cases


# --- .pts files ------------------------------------------------------------------------

def _pts_text(points: np.ndarray, header: str = "version: 1\nn_points: 68\n", sep: str = " ",
              newline: str = "\n") -> str:
    body = newline.join(f"{x:.3f}{sep}{y:.3f}" for x, y in points)
    return header.replace("\n", newline) + "{" + newline + body + newline + "}" + newline


def face_points(side: int = FACE_SIDE) -> np.ndarray:
    """68 points spread over the middle half of a ``side``-pixel image (seeded)."""
    return np.random.default_rng(3).uniform(0.25 * side, 0.75 * side, (68, 2)).round(3)


def write_pts_cases(folder: Path, side: int = FACE_SIDE) -> list[PtsCase]:
    """About 55 ``.pts`` files under ``folder``, each beside a ``side``-pixel PNG of the same
    stem. ``good`` is for ``read_pts`` alone; ``fits`` for reading it against its image."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png = _cv(".png", np.full((side, side, 3), 128, np.uint8))
    points = face_points(side)
    text = _pts_text(points)
    lines = text.splitlines()
    cases: list[PtsCase] = []

    def add(stem: str, content: bytes | str | None, kind: str, good: bool, reason: str = "",
            fits: bool = True, pts_name: str | None = None) -> None:
        image = f"{stem}.png"
        (folder / image).write_bytes(png)
        name = pts_name or f"{stem}.pts"
        if content is not None:
            data = content.encode("utf-8") if isinstance(content, str) else content
            (folder / name).write_bytes(data)
        cases.append(PtsCase(name, kind, good, reason, image=image, fits=fits))

    def numbered(k: int) -> str:
        return f"p{k:03d}"

    n = iter(range(1000))
    add(numbered(next(n)), text, "plain", True)
    add(numbered(next(n)), _pts_text(points, newline="\r\n"), "crlf", True)
    add(numbered(next(n)), _pts_text(points, header=""), "no-header", True)
    add(numbered(next(n)), _pts_text(points, sep=","), "comma", True)
    add(numbered(next(n)), _pts_text(points, sep="\t"), "tab", True)
    add(numbered(next(n)), text.replace("\n", "\n\n"), "blank-lines", True)
    add(numbered(next(n)), text + "trailing words\n", "text-after-brace", True)
    add(numbered(next(n)), "\ufeff" + text, "utf8-bom", True)
    add(numbered(next(n)), "{\n" + "".join(f"{x:.6e} {y:.6e}\n" for x, y in points) + "}\n", "scientific", True)
    add(numbered(next(n)), _pts_text(points.round()), "integers", True)
    add(numbered(next(n)), "version: 1\nn_points: 68\nimage_size_x: 192\n" + text[text.index("{"):], "extra-header",
        True)
    edge = points.copy()
    edge[:5] -= (points[:5].min() + 10)  # a few points off the left/top edge: a cut face
    add(numbered(next(n)), _pts_text(edge), "partly-outside", True)
    add("multi", None, "numbered", True, pts_name="multi_1.pts")
    (folder / "multi_1.pts").write_text(text)
    (folder / "multi_2.pts").write_text(text)
    cases.append(PtsCase("multi_2.pts", "numbered", True, image="multi.png"))
    add("visage été 😀", text, "unicode-name", True)
    # Valid files whose points belong to another image.
    add(numbered(next(n)), _pts_text(points + 5000), "far-outside", True, "entirely outside", fits=False)
    add(numbered(next(n)), _pts_text(points - 5000), "far-outside", True, "entirely outside", fits=False)
    add(numbered(next(n)), _pts_text((points - side / 2) * 40 + side / 2), "other-scale", True, "far larger",
        fits=False)
    # Bad.
    for count in (0, 1, 5, 67, 69, 136, 1000):
        rows = [f"{10 + k % 100} {20 + k % 50}" for k in range(count)]
        add(numbered(next(n)), "{\n" + "\n".join(rows) + ("\n" if rows else "") + "}\n", "wrong-count", False,
            f"{count} points, expected 68")
    add(numbered(next(n)), text.replace("n_points: 68", "n_points: 67"), "header-count", False, "header says 67")
    add(numbered(next(n)), text.replace("n_points: 68", "n_points: 69"), "header-count", False, "header says 69")
    for value in ("many", "68.0", ""):
        add(numbered(next(n)), text.replace("n_points: 68", f"n_points: {value}"), "header-count", False,
            "not a number")
    for row in (3, 40, 70):   # first, middle and last point
        add(numbered(next(n)), text.replace(lines[row], "nan 3.0"), "nan", False, "not finite")
    for value in ("inf 1", "1 -inf", "1e400 2"):
        add(numbered(next(n)), text.replace(lines[30], value), "infinite", False, "not finite")
    for value in ("ten 3", "1 two", "x y"):
        add(numbered(next(n)), text.replace(lines[30], value), "text", False, "not numeric")
    for value in ("1 2 3", "7", "1;2"):
        add(numbered(next(n)), text.replace(lines[30], value), "shape", False, "not 'x y'")
    add(numbered(next(n)), text.replace("{\n", ""), "missing-brace", False, "no opening")
    add(numbered(next(n)), text.replace("}\n", ""), "missing-brace", False, "no closing")
    add(numbered(next(n)), text.replace("{\n", "").replace("}\n", ""), "missing-brace", False, "no opening")
    add(numbered(next(n)), text.replace("{", "#").replace("}", "{"), "swapped-braces", False, "no closing")
    add(numbered(next(n)), "", "empty", False, "no opening")
    add(numbered(next(n)), "   \n\n\t\n", "blank", False, "no opening")
    add(numbered(next(n)), np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes(), "binary",
        False, "not a text file")
    add(numbered(next(n)), text.encode("utf-16"), "utf16", False, "not a text file")
    add(numbered(next(n)), text.replace("version", "versión").encode("latin-1"), "latin1", False, "not a text file")
    add(numbered(next(n)), _cv(".jpg", np.zeros((8, 8, 3), np.uint8)), "image-as-pts", False, "not a text file")
    add(numbered(next(n)), text.replace(lines[10], "1\x002"), "nul", False, "not 'x y'")
    add(numbered(next(n)), "{\n" + "1 2\n" * 100_000 + "}\n", "huge", False, "100000 points")
    stem = numbered(next(n))
    add(stem, None, "directory", False, "not a regular file")
    (folder / f"{stem}.pts").mkdir()
    stem = numbered(next(n))
    add(stem, None, "fifo", False, "not a regular file")
    os.mkfifo(folder / f"{stem}.pts")
    stem = numbered(next(n))
    add(stem, None, "symlink-loop", False, "cannot be read")
    os.symlink(f"{stem}.pts", folder / f"{stem}.pts")
    stem = numbered(next(n))
    add(stem, None, "dangling-symlink", False, "cannot be read")
    os.symlink("nowhere.pts", folder / f"{stem}.pts")
    return cases


# --- manifests -------------------------------------------------------------------------

MANIFEST_HEADER = "path,subset,split,det_x0,det_y0,det_x1,det_y1"


def write_manifest_rows(folder: Path, faces: list[Face]) -> list[RowCase]:
    """A ``MANIFEST.csv`` of about 40 rows, good and bad, and the images it names."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[str] = [MANIFEST_HEADER]
    cases: list[RowCase] = []
    counter = iter(range(10**6))

    def image(name: str, data: bytes) -> str:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return name

    def jpeg(k: int | None = None) -> bytes:
        return _cv(".jpg", faces[(next(counter) if k is None else k) % len(faces)].pixels)

    def row(path: str, box, kind: str, good: bool, reason: str = "", records_good: bool | None = None,
            raw: str | None = None, image_problem: bool = False) -> None:
        cells = [f'"{path}"' if any(c in path for c in ',"\n') and not path.startswith('"') else path,
                 "afw", "train"] + [str(v) for v in box]
        text = raw if raw is not None else ",".join(cells)
        rows.append(text)
        line = sum(r.count("\n") + 1 for r in rows)   # the row's last line
        cases.append(RowCase(line, path.strip('"'), kind, good, reason, records_good, image_problem))

    box = [round(v, 3) for v in faces[0].box]
    side = FACE_SIDE
    a = image("a.jpg", jpeg(0))
    row(a, box, "plain", True)
    row(a, [v + 3 for v in box], "second-face", True)
    row(image("b c.png", _cv(".png", faces[1].pixels)), faces[1].box, "spaced-name", True)
    row(image("sous dossier/ü d.jpg", jpeg(2)), faces[2].box, "unicode-subfolder", True)
    row(image("edge.jpg", jpeg()), [-30, -20, 100, 120], "partly-outside", True)
    row(image("sci.jpg", jpeg()), [f"{v:.4e}" for v in box], "scientific", True)
    row(image("extra.jpg", jpeg()), box + ["surplus", "cells"], "extra-cells", True)
    row(image('quo"te.jpg', jpeg()), box, "quoted-path", True, raw='"quo""te.jpg",afw,train,' + ",".join(map(str, box)))
    row(image("cmyk.jpg", _pil(faces[3].pixels, "CMYK", "JPEG")), faces[3].box, "cmyk", True)
    broken_pts = image("broken-pts.jpg", jpeg())
    (folder / "broken-pts.pts").write_text("version: 1\n{\n1 2\n}\n")
    row(broken_pts, box, "broken-pts", True, "1 points", records_good=False)
    far_pts = image("far-pts.jpg", jpeg())
    (folder / "far-pts.pts").write_text(_pts_text(face_points() + 9000))
    row(far_pts, box, "far-outside-pts", True, "entirely outside", records_good=False)
    raw_name = os.fsdecode(b"caf\xe9.jpg")
    image(raw_name, jpeg())
    row(raw_name, box, "non-utf8-path", True)
    # Bad boxes, 1-based as a 300-W manifest writes them: the last row is y = side.
    out = image("outside.jpg", jpeg())
    for label, b in {"right": [side + 10, 10, side + 90, 90], "left": [-200, 10, -5, 90],
                     "above": [10, -300, 90, 0], "below": [10, side + 1, 90, side + 80]}.items():
        row(out, b, f"box-outside-{label}", False, "entirely outside")
    row(out, [-50 * side, -50 * side, 50 * side, 50 * side], "box-huge", False, "far larger")
    row(out, [1e300, 1e300, 2e300, 2e300], "box-astronomic", False, "entirely outside")
    webp = image("webp-inside.jpg", _pil(faces[4].pixels, None, "WEBP"))
    row(webp, [side + 10, 10, side + 90, 90], "box-outside-unknown-header", False, "entirely outside",
        records_good=True)
    for label, b in {"nan": ["nan", 1, 50, 50], "inf": [1, 1, "inf", 50], "minus-inf": ["-inf", 1, 50, 50],
                     "reversed": [90, 10, 10, 90], "zero-width": [50, 10, 50, 90]}.items():
        row(out, b, f"box-{label}", False, "empty or not finite")
    row(out, ["abc", 1, 2, 3], "box-text", False, "not numeric")
    row(out, ["", 1, 2, 3], "box-blank", False, "not numeric")
    row(out, [], "short-row", False, "not numeric", raw="outside.jpg")
    row("", box, "empty-path", False, "no image path")
    row("   ", box, "blank-path", False, "no image path")
    # Bad images.
    def bad_image(path: str, kind: str, reason: str) -> None:
        row(path, box, kind, False, reason, image_problem=True)

    bad_image("missing.jpg", "missing-image", "cannot be read")
    bad_image("/nonexistent/folder/x.jpg", "missing-absolute", "cannot be read")
    bad_image(image("corrupt.jpg", jpeg()[:500]), "corrupt-image", "truncated")
    bad_image(image("empty.png", b""), "empty-image", "empty file")
    huge = bytearray(_cv(".png", np.zeros((4, 4, 3), np.uint8)))
    huge[16:24] = struct.pack(">II", 20000, 20000)
    bad_image(image("huge.png", bytes(huge)), "huge-header", "too large")
    (folder / "a folder.jpg").mkdir()
    bad_image("a folder.jpg", "directory", "not a regular file")
    bad_image("..", "parent", "not a regular file")
    bad_image("/", "root", "not a regular file")
    bad_image("multi\nline.jpg", "multi-line-path", "cannot be read")
    bad_image("nul\x00byte.jpg", "nul-in-path", "cannot be read")
    row(a, box, "good-after-bad", True)    # a good row after all that still counts

    with open(folder / "MANIFEST.csv", "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        handle.write("\n".join(rows) + "\n")
    return cases


def write_bad_manifests(folder: Path, faces: list[Face]) -> list[Case]:
    """One CSV per case under ``folder``: unusable as a whole (``good=False``, the reason
    a :class:`DatasetError` gives), or odd but readable (``good=True``: one face)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jpg").write_bytes(_cv(".jpg", faces[0].pixels))
    box = ",".join(f"{v:.3f}" for v in faces[0].box)
    good_row = f"a.jpg,afw,train,{box}"
    cases: list[Case] = []

    def add(name: str, content: bytes | str | None, kind: str, good: bool, reason: str = "") -> None:
        if content is not None:
            (folder / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        cases.append(Case(name, kind, good, reason))

    columns = MANIFEST_HEADER.split(",")
    for column in ("path", "det_x0", "det_y0", "det_x1", "det_y1"):
        kept = [c for c in columns if c != column]
        values = [v for c, v in zip(columns, good_row.split(",")) if c != column]
        add(f"missing-{column}.csv", ",".join(kept) + "\n" + ",".join(values) + "\n", "missing-column", False,
            f"missing column(s) {column}")
    add("empty.csv", b"", "empty", False, "missing column")
    add("semicolons.csv", (MANIFEST_HEADER + "\n" + good_row + "\n").replace(",", ";"), "wrong-delimiter", False,
        "missing column")
    add("tabs.csv", (MANIFEST_HEADER + "\n" + good_row + "\n").replace(",", "\t"), "wrong-delimiter", False,
        "missing column")
    add("binary.csv", np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes(), "binary", False,
        "missing column")
    add("jpeg.csv", _cv(".jpg", faces[0].pixels), "image-as-manifest", False, "missing column")
    add("utf16.csv", (MANIFEST_HEADER + "\n" + good_row + "\n").encode("utf-16"), "utf16", False,
        "missing column")
    add("giant-field.csv", MANIFEST_HEADER + "\n" + "x" * 200_000 + ",afw,train,1,2,3,4\n", "giant-field", False,
        "not a readable csv")
    (folder / "directory.csv").mkdir()
    add("directory.csv", None, "directory", False, "not a regular file")
    os.mkfifo(folder / "fifo.csv")
    add("fifo.csv", None, "fifo", False, "not a regular file")
    os.symlink("loop.csv", folder / "loop.csv")
    add("loop.csv", None, "symlink-loop", False, "cannot be read")
    os.symlink("nowhere.csv", folder / "dangling.csv")
    add("dangling.csv", None, "dangling-symlink", False, "cannot be read")
    add("missing.csv", None, "missing", False, "cannot be read")
    # Odd but readable.
    add("bom.csv", "\ufeff" + MANIFEST_HEADER + "\n" + good_row + "\n", "utf8-bom", True)
    add("crlf.csv", MANIFEST_HEADER + "\r\n" + good_row + "\r\n", "crlf", True)
    add("spaces.csv", (MANIFEST_HEADER + "\n" + good_row + "\n").replace(",", ", "), "spaces-after-commas", True)
    add("reordered.csv", "det_y1,det_x1,det_y0,det_x0,path\n" + ",".join(reversed(good_row.split(",")[3:]))
        + ",a.jpg\n", "reordered-columns", True)
    add("minimal.csv", "path,det_x0,det_y0,det_x1,det_y1\na.jpg," + box + "\n", "only-required-columns", True)
    add("no-final-newline.csv", MANIFEST_HEADER + "\n" + good_row, "no-final-newline", True)
    add("nul-elsewhere.csv", MANIFEST_HEADER + ",note\n" + good_row + ",a\x00b\n", "nul-byte", True)
    return cases
