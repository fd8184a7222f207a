"""Answering the app's modal dialogs from a test: each runs its own event loop, so the
answer is given from a timer once the dialog is up."""
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


def when_shown(kind, act):
    """Run ``act(widget)`` once a modal ``kind`` is up."""
    def poll():
        widget = QApplication.activeModalWidget()
        if isinstance(widget, kind):
            act(widget)
        else:
            QTimer.singleShot(10, poll)
    QTimer.singleShot(0, poll)


def click_button(qtbot, box: QMessageBox, text: str) -> None:
    """Click the button of ``box`` that reads ``text``."""
    qtbot.mouseClick(next(button for button in box.buttons() if button.text() == text), Qt.MouseButton.LeftButton)
