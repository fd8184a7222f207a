"""Opening a folder without freezing the window (Qt, no widgets).

:func:`open_folder_responsively` runs :func:`app.document.open_folder.open_folder` on a worker
thread and keeps the GUI thread's event loop turning meanwhile (painting, timers,
progress), so that a folder of tens of thousands of images does not freeze the window
while it is listed, read and recorded. Keyboard and mouse input waits until the folder
is open (it is not lost), so nothing can act on a half-opened folder. It returns the
project, or raises what ``open_folder`` raised, like a plain call.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QTimer

from ..document.open_folder import open_folder
from ..document.project import Project

POLL_MS = 25                # how often the progress is passed on
QUICK_S = 0.05              # a folder opened within this needs no event loop at all


def open_folder_responsively(folder: str | Path, fallback_root: Path,
                             progress: Callable[[int, int], None] | None = None) -> Project:
    """:func:`~app.document.open_folder.open_folder` on a worker thread; ``progress(done, total)``
    (new images read so far, of how many) is called on the GUI thread now and then."""
    outcome: dict[str, object] = {}
    counts = [0, 0]

    def report(done: int, total: int) -> None:      # worker thread: only stores two numbers
        counts[:] = done, total

    def work() -> None:
        try:
            outcome["project"] = open_folder(folder, fallback_root, progress=report)
        except BaseException as exc:  # handed to the caller on the GUI thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="open-folder", daemon=True)
    worker.start()
    worker.join(QUICK_S)
    if worker.is_alive():
        loop = QEventLoop()
        timer = QTimer(interval=POLL_MS)

        def poll() -> None:
            if progress is not None:
                progress(*counts)
            if not worker.is_alive():
                loop.quit()

        timer.timeout.connect(poll)
        timer.start()
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        timer.stop()
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["project"]
