"""Run imports in a fresh interpreter and fail if they loaded a forbidden package
(the core, and the app's plain-Python modules, must work without Qt)."""
import subprocess
import sys

GUI_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph")


def assert_imports_load_none_of(modules: tuple[str, ...], forbidden: tuple[str, ...] = GUI_PACKAGES) -> None:
    code = (f"import sys, {', '.join(modules)};"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {forbidden!r}];"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
