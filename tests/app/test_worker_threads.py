"""A program that stops without closing its window still ends the window's threads."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Stops, as a script stopped by an error would, with the window open and predicting.
STOPS_WITH_THE_WINDOW_OPEN = """
import sys
from PySide6.QtWidgets import QApplication
from app.window.main_window import MainWindow

app = QApplication([])
window = MainWindow(sys.argv[1], remember=False)
assert window.open_folder(sys.argv[2]) and window.prediction.running
sys.exit(3)
"""


def test_a_program_that_never_closes_its_window_exits_with_its_own_status(tiny_model, crops_folder):
    done = subprocess.run([sys.executable, "-c", STOPS_WITH_THE_WINDOW_OPEN, str(tiny_model), str(crops_folder)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 3, done.stderr[-2000:]   # not Qt's abort: "QThread: Destroyed while … running"
    assert "QThread" not in done.stderr
