"""one_blas_thread changes a process-wide setting; the app fuses on two threads at once
(issue 20, item 9)."""
import threading

import numpy as np

from uglli_core.prior import shape_prior
from uglli_core.prior.model_prior import load_shape_prior
from uglli_core.prior.shape_prior import _blas_libraries, one_blas_thread


class ProcessWideCount:
    """A BLAS library whose thread count any thread may change (as with threadpoolctl
    before it let only one thread do so); it tells ``arrived`` when ``second`` reads it."""

    def __init__(self, second: list, arrived: threading.Event):
        self._threads, self._second, self._arrived = 2, second, arrived
        self.seen_inside: list[int] = []

    @property
    def num_threads(self) -> int:
        if threading.current_thread() in self._second:
            self._arrived.set()
        return self._threads

    def set_num_threads(self, threads: int) -> None:
        self._threads = threads


class TellingLock:
    """The module's lock, telling ``arrived`` when ``second`` asks for it."""

    def __init__(self, second: list, arrived: threading.Event):
        self._lock, self._second, self._arrived = threading.RLock(), second, arrived

    def __enter__(self):
        if threading.current_thread() in self._second:
            self._arrived.set()
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


def test_a_second_user_arriving_during_the_first_never_leaves_one_thread(monkeypatch):
    """The first user is inside with one thread when the second arrives; the first then
    leaves, then the second. Before, the second saved the first's 1 and restored it."""
    second, arrived = [], threading.Event()
    library = ProcessWideCount(second, arrived)
    monkeypatch.setattr(shape_prior, "_blas_libraries", lambda: [library])
    monkeypatch.setattr(shape_prior, "_blas_lock", TellingLock(second, arrived), raising=False)

    first_left = threading.Event()

    def use() -> None:
        with one_blas_thread():
            library.seen_inside.append(library._threads)
            if threading.current_thread() in second:      # the second: leave after the first
                first_left.wait()
            else:                                         # the first: stay until the second is here
                thread = threading.Thread(target=use)
                second.append(thread)
                thread.start()
                arrived.wait()
        if threading.current_thread() not in second:
            first_left.set()

    use()
    second[0].join()
    assert library.seen_inside == [1, 1]
    assert library.num_threads == 2


def test_nested_use_on_one_thread_restores_at_the_end(monkeypatch):
    library = ProcessWideCount([], threading.Event())
    monkeypatch.setattr(shape_prior, "_blas_libraries", lambda: [library])
    with one_blas_thread():
        with one_blas_thread():
            assert library.num_threads == 1
        assert library.num_threads == 1
    assert library.num_threads == 2


def test_fusing_on_several_threads_leaves_the_real_counts_as_they_were():
    libraries = _blas_libraries()
    before = [library.num_threads for library in libraries]
    prior = load_shape_prior()
    landmarks = prior.mean * 100 + 200 + np.random.default_rng(0).normal(size=(68, 2))
    covariances = np.tile(4 * np.eye(2), (68, 1, 1))
    results = []

    def fuse() -> None:
        for _ in range(20):
            results.append(prior.fuse(landmarks, covariances, {})[0])

    threads = [threading.Thread(target=fuse) for _ in range(4)]
    for thread in threads:
        thread.start()
    fuse()
    for thread in threads:
        thread.join()
    assert [library.num_threads for library in libraries] == before
    assert len(results) == 100 and all(np.allclose(result, results[0]) for result in results)
