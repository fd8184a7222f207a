"""Odd folders: one without images is left as it is and says so; a long reason why an
image cannot be shown is wrapped to the view, all of it readable."""
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsTextItem

from app.document.open_folder import open_folder
from app.document.project import SaveError
from app.window.session import GEOMETRY_KEY, STATE_KEY, settings


def _listing(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def _message(canvas):
    """The text shown instead of an image, and its place on screen."""
    items = [item for item in canvas.scene().items() if isinstance(item, (QGraphicsTextItem, QGraphicsSimpleTextItem))
             and item.isVisible() and item.parentItem() is None]
    assert len(items) == 1
    item = items[0]
    text = item.toPlainText() if isinstance(item, QGraphicsTextItem) else item.text()
    return text, canvas.mapFromScene(item.sceneBoundingRect()).boundingRect()


def test_a_folder_without_images_is_left_as_it_is(tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "readme.txt").write_text("no photos here")
    before = _listing(folder)
    project = open_folder(folder, tmp_path / "fallback")
    assert project.images == [] and project.notices == []
    with pytest.raises(SaveError, match="had no images when it was opened"):
        project.store.write()           # nothing can ask it to, but it would say why rather than write
    project.close()
    assert _listing(folder) == before and not (tmp_path / "fallback").exists()


def test_opening_an_empty_folder_writes_nothing_and_says_there_are_no_images(qtbot, make_window, open_and_predict,
                                                                          crops_folder, tmp_path):
    window = make_window()
    open_and_predict(window, crops_folder)
    window.canvas.zoom(6.0, QPointF(10, 10))       # the last folder's zoom must not blow the message up
    empty = tmp_path / "empty"
    empty.mkdir()
    assert window.open_folder(empty)
    assert list(empty.iterdir()) == []
    canvas = window.canvas
    text, on_screen = _message(canvas)
    assert text.startswith("No images here")
    assert canvas.transform().m11() == 1.0
    assert canvas.viewport().rect().contains(on_screen)
    assert not window.actions["predict"].isEnabled()    # nothing to predict, rather than "nothing left"
    assert window.windowTitle().startswith("empty") and window.edit_hint.text() == ""
    window.close_project()                             # closing writes nothing either
    assert list(empty.iterdir()) == []
    assert window.open_folder(crops_folder) and window.actions["predict"].isEnabled()


def test_a_long_reason_why_an_image_cannot_be_shown_is_wrapped_to_the_view(qtbot, make_window, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    name = "a photo from the wedding of my cousin in the old town hall, taken by her uncle at dusk.jpg"
    (folder / name).write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 3)
    window = make_window()
    window.resize(700, 600)
    assert window.open_folder(folder)      # its only image is shown, and found unreadable
    canvas = window.canvas
    reason = window.project.images[0].problem
    assert name in reason
    text, on_screen = _message(canvas)
    assert text == reason
    assert on_screen.width() <= canvas.viewport().width() and canvas.viewport().rect().contains(on_screen)
    window.resize(560, 600)                            # narrower: wrapped again
    qtbot.waitUntil(lambda: canvas.viewport().rect().contains(_message(canvas)[1]), timeout=2000)
    window.close()
    for key in (GEOMETRY_KEY, STATE_KEY):              # later tests' windows start with the default layout
        settings().remove(key)
