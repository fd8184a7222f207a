"""Work ahead on threads: photos are decoded and searched for faces on worker threads
while the landmark network runs on the caller's thread.

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
from typing import Callable, Generic, Iterable, Iterator, TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")


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


def _prepare(item, prepare) -> Prepared:
    try:
        return Prepared(item, prepare(item))
    except Exception as exc:  # handed to the caller, who knows what the item was
        return Prepared(item, error=exc)
