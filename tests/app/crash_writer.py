"""The process that ``test_crash_safety.py`` kills: the app's data model and store, no window.

Run as ``python crash_writer.py``: it imports the app once, prints ``ready`` and then,
for each line ``run FOLDER FALLBACK SEED FIRST MODE`` read from stdin, forks a writer
(so that each one starts in milliseconds, not the second or two torch takes to import),
waits for it and prints ``exit PID STATUS``.

The writer opens the folder as the app does (``opened``), then applies a seeded,
endless stream of edits, printing before each ``do {json}`` and, once the store has
committed it, ``ack SEQ``. With MODE ``slow`` every write sleeps inside its transaction
after printing ``inside SEQ``, so that a kill there lands in the middle of the write.
Every line is one ``os.write``, so lines from different processes never mix.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.document.open_folder import open_folder  # noqa: E402
from app.document.store import ReviewStore  # noqa: E402

SLOW_WRITE_S = 0.05


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def writer(folder: Path, fallback: Path, seed: int, first: int, mode: str) -> None:
    say(f"pid {os.getpid()}")
    project = open_folder(folder, fallback)
    say("opened")
    current = {"seq": first}
    if mode == "slow":
        original = project.store._transaction

        def slow_transaction():
            context = original()

            class Slow:
                def __enter__(self):
                    return context.__enter__()

                def __exit__(self, *exc):
                    if exc[0] is None:
                        say(f"inside {current['seq']}")
                        time.sleep(SLOW_WRITE_S)
                    return context.__exit__(*exc)
            return Slow()
        project.store._transaction = slow_transaction
    rng = random.Random(seed)
    faces = sorted(project.faces(), key=lambda face: face.id)
    while True:
        face = rng.choice(faces)
        kind = rng.choice(["point", "point", "point_reviewed", "reviewed", "box"])
        edit = {"seq": current["seq"], "kind": kind, "face": face.id}
        if kind == "point":
            edit |= {"index": rng.randrange(68), "xy": [round(rng.uniform(0, 200), 3), round(rng.uniform(0, 200), 3)]}
        elif kind == "point_reviewed":
            edit |= {"index": rng.randrange(68), "value": rng.random() < 0.5}
        elif kind == "reviewed":
            edit |= {"value": not face.reviewed}
        else:
            x, y = rng.uniform(0, 100), rng.uniform(0, 100)
            edit |= {"box": [round(x, 3), round(y, 3), round(x + rng.uniform(20, 90), 3),
                             round(y + rng.uniform(20, 90), 3)]}
        say("do " + json.dumps(edit))
        if kind == "point":
            done = project.move_point(face, edit["index"], tuple(edit["xy"]))
        elif kind == "point_reviewed":
            done = project.set_point_reviewed(face, edit["index"], edit["value"])
        elif kind == "reviewed":
            done = project.set_face_reviewed(face, edit["value"])
        else:
            done = project.set_box(face, tuple(edit["box"]))
        if not done:
            say(f"failed {current['seq']}")
            os._exit(3)
        say(f"ack {current['seq']}")
        current["seq"] += 1


def serve() -> None:
    ReviewStore  # imported above: the writers start with everything loaded
    say("ready")
    for line in sys.stdin:
        command, *args = line.split()
        if command != "run":
            continue
        folder, fallback, seed, first, mode = args
        pid = os.fork()
        if pid == 0:
            try:
                writer(Path(folder), Path(fallback), int(seed), int(first), mode)
            except BaseException as exc:  # the parent reads this instead of a silent exit
                say(f"error {type(exc).__name__}: {exc}")
            finally:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")


if __name__ == "__main__":
    serve()
