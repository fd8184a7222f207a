"""Toolbar icons: every toolbar action draws one, and every icon file belongs to an action."""
from PySide6.QtWidgets import QToolBar

from app.window.actions import ACTIONS, ICONS


def test_every_toolbar_action_has_a_visible_icon(make_window):
    window = make_window()
    toolbar = window.findChild(QToolBar)
    actions = [action for action in toolbar.actions() if not action.isSeparator()]
    assert {action.objectName() for action in actions} == {spec.name for spec in ACTIONS if spec.short}
    for action in actions:
        assert not action.icon().isNull(), action.objectName()
        image = action.icon().pixmap(24, 24).toImage()
        # A file the SVG plugin cannot draw gives a blank pixmap, not a null icon.
        alphas = (image.pixelColor(x, y).alpha() for x in range(image.width()) for y in range(image.height()))
        assert any(alphas), f"{action.objectName()} draws nothing"


def test_every_icon_file_belongs_to_an_action():
    names = {path.stem for path in ICONS.glob("*.svg")}
    assert names, f"no icons in {ICONS}"
    assert names <= {spec.name for spec in ACTIONS}, names - {spec.name for spec in ACTIONS}
