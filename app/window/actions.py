"""Every command of the main window with its menu and keys, in one table that builds
the menus and the rows of the Help → Keyboard Shortcuts dialog, so the two cannot disagree."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from uglli_core import BUNDLED_MODEL


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    menu: str
    keys: tuple[str, ...] = ()
    checkable: bool = False
    checked: bool = False
    short: str = ""          # label on the toolbar, when it has a place there


NUDGE_STEP, NUDGE_FAR = 1.0, 10.0   # screen pixels: the zoom sets the precision (sub-pixel when zoomed in)
NUDGES = {f"nudge_{side}{'_far' if far else ''}": (dx * (NUDGE_FAR if far else NUDGE_STEP),
                                                   dy * (NUDGE_FAR if far else NUDGE_STEP))
          for side, (dx, dy) in {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}.items()
          for far in (False, True)}

ACTIONS = (
    ActionSpec("open_folder", "&Open Folder…", "&File", ("Ctrl+O",), short="Open"),
    ActionSpec("close_folder", "&Close Folder", "&File", ("Ctrl+W",)),
    ActionSpec("choose_model", "Choose &Model…", "&File"),
    ActionSpec("export", "&Export…", "&File", ("Ctrl+E",), short="Export"),
    ActionSpec("quit", "&Quit", "&File", ("Ctrl+Q",)),
    ActionSpec("undo", "&Undo", "&Edit", ("Ctrl+Z",), short="Undo"),
    ActionSpec("redo", "&Redo", "&Edit", ("Ctrl+Shift+Z", "Ctrl+Y"), short="Redo"),
    ActionSpec("box_mode", "Face &Boxes: draw, move, resize", "&Edit", ("B",), checkable=True, short="Boxes"),
    ActionSpec("delete_faces", "&Delete Faces (those selected in the list)", "&Edit", ("Delete",)),
    ActionSpec("not_a_face", "Not a &Face: delete it and go to the next", "&Edit", ("X",), short="Not a face"),
    *(ActionSpec(name, f"Nudge Point {name.split('_')[1].title()} "
                       f"({NUDGE_FAR if name.endswith('far') else NUDGE_STEP:g} screen px)",
                 "&Edit", (("Shift+" if name.endswith("far") else "") + name.split("_")[1].title(),))
      for name in NUDGES),
    ActionSpec("toggle_occluded", "Point &Occluded (hidden: placed by judgement)", "&Edit", ("O",)),
    ActionSpec("turn_face", "&Turn Face a Quarter Clockwise (a photo held the wrong way)", "&Edit", ("T",)),
    ActionSpec("propagate", "&Propagate Corrections to Unreviewed Points", "&Edit", ("Shift+P",), checkable=True,
               checked=True),
    ActionSpec("show_ellipses", "Uncertainty &Ellipses", "&View", ("E",), checkable=True, checked=True, short="Ellipses"),
    ActionSpec("show_contours", "&Contours", "&View", ("C",), checkable=True, checked=True, short="Contours"),
    ActionSpec("show_numbers", "Point &Numbers", "&View", ("L",), checkable=True, short="Numbers"),
    ActionSpec("show_legend", "&Legend", "&View", checkable=True, checked=True),
    ActionSpec("fit_image", "&Fit Image", "&View", ("F",), short="Fit"),
    ActionSpec("fit_face", "Fit F&ace", "&View", ("Shift+F",)),
    ActionSpec("zoom_in", "Zoom &In", "&View", ("+", "=")),
    ActionSpec("zoom_out", "Zoom &Out", "&View", ("-",)),
    ActionSpec("predict", "&Predict", "&Review", ("Ctrl+R",), short="Predict"),
    ActionSpec("cancel_prediction", "&Cancel Prediction", "&Review", ("Ctrl+.",), short="Cancel"),
    ActionSpec("next_face", "&Next Face", "&Review", ("N", "PgDown")),
    ActionSpec("previous_face", "&Previous Face", "&Review", ("P", "PgUp")),
    ActionSpec("next_uncertain_point", "Next &Uncertain Point (whole folder)", "&Review", ("U",), short="Next uncertain"),
    ActionSpec("next_uncertain_in_face", "Next Uncertain Point of &This Face", "&Review", ("Shift+U",)),
    ActionSpec("next_point", "Next Point of the Face", "&Review", ("]",)),
    ActionSpec("previous_point", "Previous Point of the Face", "&Review", ("[",)),
    ActionSpec("toggle_point_reviewed", "Mark Point &Reviewed", "&Review", ("R",), short="Point ✓"),
    ActionSpec("accept_face", "&Accept Face (mark reviewed)", "&Review", ("A", "Return"), short="Accept face"),
    ActionSpec("deselect_point", "Deselect Point", "&Review", ("Esc",)),
    ActionSpec("fine_tune", "&Fine-tune on Corrections…", "&Model"),
    ActionSpec("model_versions", "Model &Versions…", "&Model"),
    ActionSpec("calibrate_as_i_review", "&Calibrate to This Folder as I Review", "&Model", checkable=True,
               checked=True),
    ActionSpec("calibrate_now", "Calibrate &Now (to the faces reviewed so far)", "&Model"),
    ActionSpec("shortcuts", "&Keyboard Shortcuts and How to Review", "&Help", ("F1", "?")),
    ActionSpec("about", "&About UGLLI Review", "&Help"),
)

# Commands that make sense with no folder open; the others are greyed out until one is
# (undo, redo and cancel follow their own state).
WITHOUT_FOLDER = {"open_folder", "choose_model", "quit", "show_ellipses", "show_contours", "show_numbers",
                  "show_legend", "propagate", "shortcuts", "about"}
OWN_STATE = {"undo", "redo", "cancel_prediction"}

# Beside the bundled model, in a checkout or an installed wheel alike.
ICONS = BUNDLED_MODEL.parent / "icons"

MOUSE_HELP = (
    ("Select and drag a point (one undo step)", "Left drag from the point's dot"),
    ("Place the selected point", "Ctrl + left click"),
    ("Deselect the point", "Left click on the image"),
    ("Select another face of the image", "Left click in its box"),
    ("Pan", "Middle drag, or Space + left drag"),
    ("Zoom about the cursor", "Wheel"),
    ("In Face Boxes mode: new box / move / resize", "Drag outside a box / inside / on its corner"),
    ("Filter the list by uncertainty", "Click a histogram bar (again to clear)"),
)


def make_action(spec: ActionSpec, parent) -> QAction:
    action = QAction(spec.text, parent)
    action.setObjectName(spec.name)
    action.setShortcuts([QKeySequence(key) for key in spec.keys])
    action.setIconText(spec.short or spec.text.replace("&", ""))
    action.setIcon(icon_for(spec.name))
    action.setIconVisibleInMenu(not spec.checkable)  # else menus show the icon sunken instead of a check box
    action.setToolTip(f"{spec.text.replace('&', '')} ({key_text(spec)})" if spec.keys else spec.text.replace("&", ""))
    action.setCheckable(spec.checkable)
    action.setChecked(spec.checked)
    return action


def build_menus(window: QMainWindow) -> tuple[dict[str, QAction], QMenu]:
    """Every action of the table in the window's menus (with File → Open Recent after Open
    Folder) and, those with a short label, on its toolbar; its shortcuts work wherever the
    focus is in the window. Returns the actions by name and the Open Recent menu."""
    actions, menus = {}, {}
    for spec in ACTIONS:
        action = make_action(spec, window)
        window.addAction(action)
        if spec.menu not in menus:
            menus[spec.menu] = window.menuBar().addMenu(spec.menu)
        menus[spec.menu].addAction(action)
        actions[spec.name] = action
        if spec.name == "open_folder":
            recent_menu = menus[spec.menu].addMenu("Open &Recent")
    toolbar = window.addToolBar("Review")
    toolbar.setObjectName("review toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
    on_toolbar = [spec for spec in ACTIONS if spec.short]
    for before, spec in zip([None, *on_toolbar], on_toolbar):
        if before and before.menu != spec.menu:
            toolbar.addSeparator()  # the same groups as the menus
        toolbar.addAction(actions[spec.name])
    return actions, recent_menu


def icon_for(name: str) -> QIcon:
    """The icon drawn for action ``name``; a null icon (text only) when it has none."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def key_text(spec: ActionSpec) -> str:
    return ", ".join(QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText) for key in spec.keys)


def shortcut_rows() -> list[tuple[str, str]]:
    """(command, keys) of every command with keys, then what the mouse does: for Help → Keyboard Shortcuts."""
    return [(spec.text.replace("&", ""), key_text(spec)) for spec in ACTIONS if spec.keys] + list(MOUSE_HELP)
