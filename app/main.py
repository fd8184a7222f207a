"""``uglli-review [FOLDER] [--model PATH] [--screenshot OUT.png]``"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCREENSHOT_SETTLE_MS = 300   # let the last layout and paint happen before grabbing


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="uglli-review", description="Review and correct 68-point facial "
                                     "landmarks with the model's uncertainty (UGLLI).")
    parser.add_argument("folder", nargs="?", type=Path,
                        help="folder of face images to open (default: the folder open when the app last closed)")
    parser.add_argument("--model", type=Path, help="UGLLI model file (default: the bundled model)")
    parser.add_argument("--no-predict", action="store_true",
                        help="do not predict when the folder opens (Review → Predict starts it)")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="open FOLDER, wait for prediction to finish, save the window as OUT.png and exit")
    args = parser.parse_args(argv)
    if args.screenshot and not args.folder:
        parser.error("--screenshot needs a FOLDER")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .window.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("UGLLI Review")
    window = MainWindow(args.model, auto_predict=not args.no_predict, remember=not args.screenshot)
    window.show()
    if args.screenshot:
        return _screenshot(app, window, args.folder, args.screenshot)
    folder = args.folder or window.recent.last()   # where the last session was
    if folder:
        QTimer.singleShot(0, lambda: window.open_folder(folder))
    return app.exec()


def _screenshot(app, window, folder: Path, out: Path) -> int:
    """Render the window once prediction is over (or was never needed) and exit."""
    from PySide6.QtCore import QTimer

    result = {"code": 1}

    def grab() -> None:
        saved = window.grab().save(str(out))
        result["code"] = 0 if saved else 1
        if not saved:
            print(f"could not write {out}", file=sys.stderr)
        window.close()

    def show_the_work() -> None:
        window.navigation.next_uncertain_point()  # the most uncertain point, as a reviewer would start
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, grab)   # after the status bar has laid out its new text

    def settle() -> None:
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, show_the_work)

    window.prediction_done.connect(settle)
    if not window.open_folder(folder):
        print("\n".join(window.notices.messages), file=sys.stderr)
        window.close()
        return 1
    if not window.prediction.running:
        settle()
    app.exec()
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())
