"""read_ahead: results in order, errors handed back per item, bounded and cancellable."""
import threading
import time

import pytest
import torch

from uglli_core.inference.read_ahead import NetworkLane, network_threads, read_ahead


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


def test_the_network_lane_runs_one_batch_at_a_time_in_order_while_the_caller_goes_on():
    running, seen, overlap = threading.Event(), [], []
    release = threading.Event()

    def run(batch):
        overlap.append(running.is_set())
        running.set()
        release.wait(5)
        seen.append(batch)
        running.clear()
        return sum(batch)

    with NetworkLane(run) as lane:
        batch = [1, 2]
        assert lane.submit(batch) is None          # nothing ran before
        batch.clear()                              # the caller reuses its list: the lane kept a copy
        assert running.wait(5)                     # the batch runs while the caller goes on
        release.set()
        assert lane.submit([3]) == 3               # waits for the first, starts the second
        assert lane.wait() == 3
        assert lane.wait() is None
    assert seen == [[1, 2], [3]] and not any(overlap)


def test_the_network_lane_hands_a_batchs_error_to_the_caller_and_waits_on_leaving():
    finished = []

    def run(batch):
        if batch == ["bad"]:
            raise ValueError("bad batch")
        time.sleep(0.05)
        finished.append(batch)

    lane = NetworkLane(run)
    lane.submit(["bad"])
    with pytest.raises(ValueError, match="bad batch"):
        lane.wait()
    with lane:
        lane.submit(["slow"])
    assert finished == [["slow"]]                  # leaving waited for the batch still running
