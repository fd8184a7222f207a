"""dlib's imglab XML, the dataset file dlib's shape predictor trainer reads (no Qt).

``<dataset><images><image file='…'><box top left width height><part name='00' x y/>…``
as dlib's imglab tool writes it and as dlib's ``training_with_face_landmarks.xml`` example
names the 68 parts: ``00``…``67`` in the iBUG 300-W order. dlib keeps a part as a point of
whole pixels: each is the pixel whose centre is nearest to ours (0-based pixel centres
rounded, halves up), so it lies within half a pixel of the point exported to ``.pts``
and COCO. The format has no visibility flag (a part can only be left out, which says it
was not annotated): a point the reviewer marked occluded is written where it was placed,
as in ``.pts``; the COCO file marks it v=1.

The box is the tight box of those pixels, as dlib's inclusive rectangle: ``left``/``top``
the smallest x/y of the face's parts, ``width``/``height`` reaching the largest, the same
box as the COCO file's (the tight box of the points exported), so every part lies on or
inside it. A shape predictor trained on it expects faces framed that way; one that will
run on a detector's boxes is better trained on boxes of that detector.

An image's ``file`` is its path relative to the XML file's folder, where dlib looks for
it (absolute where no relative path exists, as across Windows drives).
"""
from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

IMGLAB_NAME = "landmarks_imglab.xml"
ATTRIBUTE = {"'": "&apos;", '"': "&quot;"}   # escaped in an attribute, beyond &, < and >


def imglab_parts(points: np.ndarray) -> np.ndarray:
    """(68, 2) 0-based pixel centres → (68, 2) the nearest whole pixels, as dlib keeps them."""
    return np.floor(np.asarray(points, dtype=np.float64) + 0.5).astype(np.int64)


def imglab_file_name(image: Path, xml_folder: Path) -> str:
    """``image``'s path as the XML in ``xml_folder`` names it."""
    try:
        return Path(os.path.relpath(image.absolute(), xml_folder.absolute())).as_posix()
    except ValueError:   # no relative path between them
        return image.absolute().as_posix()


def imglab_xml(images: list[tuple[str, list[np.ndarray]]], name: str, comment: str) -> str:
    """The dataset of ``images``: (file as the XML names it, the (68, 2) points of each of its faces)."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<dataset>", f"<name>{escape(name)}</name>",
             f"<comment>{escape(comment)}</comment>", "<images>"]
    for file, faces in images:
        lines.append(f"  <image file={_quoted(file)}>")
        for points in faces:
            parts = imglab_parts(points)
            (left, top), (right, bottom) = parts.min(axis=0), parts.max(axis=0)
            lines.append(f"    <box top='{top}' left='{left}' width='{right - left + 1}' "
                         f"height='{bottom - top + 1}'>")
            lines += [f"      <part name='{number:02d}' x='{x}' y='{y}'/>" for number, (x, y) in enumerate(parts)]
            lines.append("    </box>")
        lines.append("  </image>")
    return "\n".join([*lines, "</images>", "</dataset>", ""])


def _quoted(value: str) -> str:
    return f"'{escape(value, ATTRIBUTE)}'"
