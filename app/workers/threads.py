"""The thread a worker object of the app lives in."""
from __future__ import annotations

from PySide6.QtCore import QObject, QThread


def start_worker_thread(name: str, worker: QObject) -> QThread:
    """A started QThread named ``name`` (as debuggers show it) that ``worker`` now lives in:
    its slots run there when reached through queued signals."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread
