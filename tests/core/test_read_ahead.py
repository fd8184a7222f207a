"""read_ahead: results in order, errors handed back per item, bounded and cancellable."""
import threading
import time

import pytest
import torch

from uglli_core.inference.read_ahead import network_threads, read_ahead


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_results_come_in_order_with_each_items_error(workers):
    def prepare(n):
        time.sleep(0.002 * (n % 3))  # later items may finish first
        if n % 4 == 0:
            raise ValueError(f"bad {n}")
        return n * n

    got = list(read_ahead(range(20), prepare, workers))
    assert [p.item for p in got] == list(range(20))
    for p in got:
        if p.item % 4 == 0:
            assert p.result is None and str(p.error) == f"bad {p.item}"
        else:
            assert p.result == p.item ** 2 and p.error is None


def test_few_items_are_in_flight_and_closing_drops_the_rest():
    started, lock = [], threading.Lock()

    def prepare(n):
        with lock:
            started.append(n)
        time.sleep(0.01)
        return n

    stream = read_ahead(range(1000), prepare, workers=2)
    assert [next(stream).item for _ in range(3)] == [0, 1, 2]
    stream.close()  # e.g. the user pressed Cancel
    time.sleep(0.1)
    assert len(started) <= 3 + 2 * 2, "at most 2 × workers items are prepared ahead"


def test_network_threads_restores_the_count():
    before = torch.get_num_threads()
    with network_threads(detecting=True):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with network_threads(detecting=False):
        assert torch.get_num_threads() == before
