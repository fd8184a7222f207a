"""Opening a folder: its store, what was saved there and what is new on disk, as a Project.

Plain Python: :func:`open_folder` may run on a worker thread (see
:mod:`app.workers.folder_opener`), so that a folder of tens of thousands of images does not
freeze the window while it is read.
"""
from __future__ import annotations

from pathlib import Path

from .faces import Face, ImageEntry
from .project import Project
from .scan import Progress, list_images, scan_folder
from .store import NothingStored, ReviewStore, database_location, has_saved_state


class FolderError(OSError):
    """A folder that cannot be opened at all; the message says why."""


def open_folder(folder: str | Path, fallback_root: Path, progress: Progress | None = None) -> Project:
    """The project of ``folder``; its state lives in ``folder/.uglli`` or, when the folder
    cannot be written, under ``fallback_root``; a folder without images and without
    state is left as it is (nothing written, no ``.uglli`` made). ``progress`` is told now
    and then how many new images have been read. Raises FolderError, StoreOpenError or
    SaveError."""
    folder = Path(folder).absolute()
    if not folder.is_dir():
        raise FolderError(f"{folder} is not a folder")
    present = list_images(folder)
    if not present and not has_saved_state(folder, fallback_root):
        return Project(folder, NothingStored(folder), [], [])
    notices = []
    location, note = database_location(folder, fallback_root)
    if note:
        notices.append(note)
    store = ReviewStore(location)
    try:
        if store.notice:
            notices.append(store.notice)
        images = store.load()
        known = {image.path for image in images}
        scan = scan_folder(folder, present, known=known, progress=progress)
        notices += scan.problems
        gone = sorted(known - set(scan.present))
        if gone:
            shown = ", ".join(gone[:5]) + (", …" if len(gone) > 5 else "")
            notices.append(f"{len(gone)} reviewed image(s) are no longer in the folder: {shown}")
        new_images = _entries(scan.new_images, first_image_id=max((i.id for i in images), default=0) + 1,
                              first_face_id=max((f.id for i in images for f in i.faces), default=0) + 1)
        if new_images:
            store.write(images=new_images, faces=[face for image in new_images for face in image.faces])
            images = sorted(images + new_images, key=lambda image: image.path)
    except BaseException:
        store.close()
        raise
    return Project(folder, store, images, notices)


def _entries(found_images, first_image_id: int, first_face_id: int) -> list[ImageEntry]:
    entries, face_id = [], first_face_id
    for image_id, found in enumerate(found_images, start=first_image_id):
        entry = ImageEntry(image_id, found.path, detected=bool(found.faces), problem=found.problem)
        for found_face in found.faces:
            entry.faces.append(Face(face_id, entry, found_face.number, found_face.box, found_face.box_source,
                                    annotation=found_face.annotation))
            face_id += 1
        entries.append(entry)
    return entries
