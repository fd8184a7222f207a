"""Work ahead on threads: photos are decoded and searched for faces on worker threads
while the landmark network runs a batch on a thread of its own (:class:`NetworkLane`).

On a whole photo, dlib's HOG detector takes about 0.3 s and the network ~30 ms, so a
serial loop leaves a second core idle. dlib and OpenCV release the GIL while they work,
so plain threads run in parallel. ``scripts/bench_speed.py`` measures the gain.

While the read-ahead threads detect faces they keep every core busy, and torch's own
threads, which spin while they wait for work, then fight them: on 2 cores whole photos
went at 4.3/s with the network on 2 threads and 5.9/s with it on one. Callers that
detect run the network inside ``network_threads(detecting=True)``.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Iterator, Sequence, TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")
Batch = TypeVar("Batch")


@dataclass
class Prepared(Generic[Item, Result]):
    """One item and what ``prepare`` made of it: a result or the exception it raised."""
    item: Item
    result: Result | None = None
    error: Exception | None = None


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@contextmanager
def network_threads(detecting: bool):
    """torch runs on one thread inside the block while read-ahead threads detect faces,
    and on as many as before otherwise.

    The setting is the whole process's: other torch work running meanwhile (a
    fine-tune in the app) gets the same count until the block ends."""
    before = torch.get_num_threads()
    if detecting:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def read_ahead(items: Iterable[Item], prepare: Callable[[Item], Result],
               workers: int | None = None) -> Iterator[Prepared[Item, Result]]:
    """``prepare(item)`` for every item on ``workers`` threads, yielded in the items' order.

    At most ``2 × workers`` items are in flight, so decoded photos do not pile up.
    ``workers=0`` prepares each item on the caller's thread when it is asked for.
    Closing the iterator early (a cancel) drops the items not yet started.
    """
    workers = default_workers() if workers is None else workers
    if workers == 0:
        for item in items:
            yield _prepare(item, prepare)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="uglli-read-ahead")
    pending: deque[tuple[Item, Future]] = deque()
    remaining = iter(items)
    try:
        while True:
            while len(pending) < 2 * workers and (item := next(remaining, _END)) is not _END:
                pending.append((item, pool.submit(_prepare, item, prepare)))
            if not pending:
                return
            yield pending.popleft()[1].result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


_END = object()

# Decoded photos a batch may hold before it goes to the network early. One batch runs
# while the next is gathered, so twice this, besides the read-ahead threads' photos.
BATCH_MAX_BYTES = 128 << 20


def distinct_bytes(images: Iterable) -> int:
    """Bytes of the distinct arrays among ``images``: a photo with several faces counts once."""
    return sum({id(image): image.nbytes for image in images}.values())


class NetworkLane(Generic[Batch, Result]):
    """``run(batch)`` for one batch at a time, in order, on a thread of its own, while the
    caller gathers the next batch from :func:`read_ahead`. Run on the caller's thread, the
    network kept the read-ahead threads waiting (they hold at most ``2 × workers`` items)
    and a core idle: 300 small photos took 18.5 s through ``uglli predict``, 12.6–14.9 s so.
    Used as a context manager: leaving it waits for the batch still running."""

    def __init__(self, run: Callable[[list[Batch]], Result]):
        self._run = run
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="uglli-network")
        self._running: Future | None = None

    def submit(self, batch: Sequence[Batch]) -> Result | None:
        """Start a copy of ``batch`` once the batch running is done, and return that one's
        result (None when none was running); its exception, if it raised one."""
        previous = self.wait()
        self._running = self._pool.submit(self._run, list(batch))
        return previous

    def wait(self) -> Result | None:
        """The running batch's result once it is done (None when none is running)."""
        running, self._running = self._running, None
        return None if running is None else running.result()

    def __enter__(self) -> "NetworkLane[Batch, Result]":
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown(wait=True)


def _prepare(item, prepare) -> Prepared:
    try:
        return Prepared(item, prepare(item))
    except Exception as exc:  # handed to the caller, who knows what the item was
        return Prepared(item, error=exc)
