"""Model → Fine-tune on Corrections… and Model → Versions…, driven through the dialogs."""
import json
import shutil
import time

import pytest
from modal_answers import click_button, when_shown
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.document.corrections import activation_risks
from app.document.model_versions import state_dir
from app.workers.model_control import FineTuneSettings
from uglli_core import load_checkpoint
from uglli_core.tuning.finetune import DEFAULT_LR

N_FACES = 9          # 7 corrected faces to train on, 2 left for the model
N_CORRECTED = 7


@pytest.fixture
def faces_folder(tmp_path, datasets):
    """Nine 300-W crops with their .pts files and MANIFEST rows."""
    crops = datasets / "300w"
    folder = tmp_path / "faces"
    folder.mkdir()
    lines = (crops / "MANIFEST.csv").read_text().splitlines()
    rows = [line for line in lines[1:] if line.startswith("afw/")][:N_FACES]
    (folder / "MANIFEST.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    for row in rows:
        name = row.split(",")[0]
        (folder / name).parent.mkdir(exist_ok=True)
        for suffix in (".jpg", ".pts"):
            shutil.copy(crops / name.replace(".jpg", suffix), folder / name.replace(".jpg", suffix))
    return folder


@pytest.fixture
def window(make_window, open_and_predict, faces_folder, tiny16):
    window = make_window(model=tiny16)
    open_and_predict(window, faces_folder)
    return window


def _correct(window, count=N_CORRECTED):
    """Accept ``count`` faces (their .pts points are the truth) and move a point of the first."""
    project = window.project
    faces = sorted(project.faces(), key=lambda f: f.image.path)
    for face in faces[:count]:
        assert project.set_face_reviewed(face, True)
    x, y = faces[0].points[30]
    assert project.move_point(faces[0], 30, (x + 2.0, y + 1.0))
    return faces[:count], faces[count:]


def _models_folder(window):
    return state_dir(window.project) / "models"


def test_fine_tune_cancel_finish_make_active_and_revert(qtbot, window, tiny16):
    corrected, others = _correct(window)
    models = window.models
    window.actions["fine_tune"].trigger()
    dialog = window.model_menu.fine_tune_dialog
    assert dialog.isVisible()
    assert dialog.count_label.text().startswith(f"{N_CORRECTED} faces:")
    assert "Only 3 held-out faces" in dialog.count_label.text(), "too few to trust: said before the run"
    assert dialog.start_button.isEnabled()

    # Start a long run, see progress, cancel: stopped within a step, nothing kept.
    events = []
    models.event.connect(events.append)
    dialog.epochs.setValue(300)
    assert dialog.share.text() == "Chosen", "by default the held-out faces choose the share"
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: sum(e["event"] == "step" for e in events) >= 2, timeout=15_000)
    assert dialog.progress_bar.maximum() == 300 and dialog.progress_bar.value() >= 2
    assert dialog.plot.step_points and "Epoch" in dialog.status_label.text()
    assert window.table.isEnabled()  # the window is not blocked
    started = time.monotonic()
    with qtbot.waitSignal(models.run_ended, timeout=10_000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 5
    assert "Cancelled" in dialog.status_label.text()
    assert models.versions.versions == [] and not models.trainer.running
    assert window.prediction.model_path == tiny16
    assert list((_models_folder(window) / "runs").iterdir()) == []
    assert not list(_models_folder(window).glob("v*.pt"))

    # Start again and let it finish: version 1 with its figures, parent and faces.
    dialog.epochs.setValue(2)
    dialog.share.setValue(70)
    with qtbot.waitSignal(models.version_added, timeout=20_000) as added:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    version = added.args[0]
    assert version.version == 1 and version.parent == 0
    assert (_models_folder(window) / "v1.pt").is_file()
    assert list((_models_folder(window) / "runs").iterdir()) == []
    index = json.loads((_models_folder(window) / "index.json").read_text())
    assert index["active"] == 0
    entry = index["versions"][0]
    keys = {f"{face.image.path}#{face.index}" for face in corrected}
    assert set(entry["trained_on"]) | set(entry["validation"]) == keys
    assert len(entry["validation"]) == 3 and not set(entry["trained_on"]) & set(entry["validation"])
    assert entry["before"]["nme_io"] > 0 and entry["after"]["nme_io"] > 0 and entry["after"]["faces"] == 3
    assert entry["config"]["epochs"] == 2 and entry["config"]["lr"] == DEFAULT_LR and entry["file"] == "v1.pt"
    assert entry["config"]["share"] == 0.7 and load_checkpoint(_models_folder(window) / "v1.pt")["blend_share"] == 0.7
    assert "→" in dialog.result_label.text() and dialog.activate_button.isVisible()
    assert "Only 3 held-out faces" in dialog.result_label.text(), "and with the figures"
    assert "It keeps 70 % of the fine-tuned weights." in dialog.result_label.text()
    assert window.prediction.model_path == tiny16  # not active until the user says so

    # Make it active: the faces nobody reviewed are predicted again, the others keep theirs.
    kept = {face: face.prediction for face in corrected}
    edited_points = corrected[0].points.copy()
    old = {face: face.prediction for face in others}
    _answer(qtbot, [], "Make Version 1 Active")   # asked first: 3 held-out faces say little
    with qtbot.waitSignal(window.prediction_done, timeout=20_000):
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert window.prediction.model_path == _models_folder(window) / "v1.pt"
    assert models.versions.active == 1
    assert all(face.prediction is not None and face.prediction is not old[face] for face in others)
    assert all(face.prediction is kept[face] for face in corrected)
    assert (corrected[0].points == edited_points).all()
    table = window.faces
    scores = [table.row_at(r).face.uncertainty for r in range(table.rowCount())]
    assert scores == sorted(scores, reverse=True)  # re-ranked
    moved = next(m for m in window.notices.messages if "faces predicted again went from" in m)
    assert f"the {len(others)} faces predicted again" in moved and "over the whole folder" in moved
    assert dialog.status_label.text() == moved

    # Revert to the starting model from the versions dialog.
    window.actions["model_versions"].trigger()
    versions = window.model_menu.versions_dialog
    assert versions.table.rowCount() == 2 and versions.table.item(1, 7).text() == "✓"
    assert versions.table.item(1, 1).text() == "fine-tuned" and versions.table.item(0, 1).text() == "starting model"
    assert versions.table.item(1, 5).text() == dialog.result_label.text().split("NME_io ")[1].split(",")[0]
    versions.select_version(0)
    with qtbot.waitSignal(window.prediction_done, timeout=20_000):
        qtbot.mouseClick(versions.activate_button, Qt.MouseButton.LeftButton)
    assert window.prediction.model_path == tiny16 and models.versions.active == 0
    assert versions.table.item(0, 7).text() == "✓" and versions.table.item(1, 7).text() == ""
    assert all(face.prediction is not None for face in window.project.faces())


def test_the_active_version_stays_with_the_folder(qtbot, window, faces_folder, tiny16):
    _correct(window)
    models = window.models
    with qtbot.waitSignal(models.version_added, timeout=20_000):
        assert models.start_fine_tune(FineTuneSettings(epochs=1)) is None
    assert models.make_active(1, repredict=False) == 0
    v1 = _models_folder(window) / "v1.pt"
    assert window.prediction.model_path == v1
    window.close_project()
    assert window.prediction.model_path == tiny16
    window.open_folder(faces_folder)
    assert window.prediction.model_path == v1
    # A second version starts from the active one and names it as its parent.
    with qtbot.waitSignal(models.version_added, timeout=20_000) as added:
        assert models.start_fine_tune(FineTuneSettings(epochs=1)) is None
    assert added.args[0].version == 2 and added.args[0].parent == 1
    assert added.args[0].config["init_model"] == str(v1)
    # A version whose file has gone falls back to the starting model, with a notice.
    window.close_project()
    v1.unlink()
    window.open_folder(faces_folder)
    assert window.prediction.model_path == tiny16
    assert any("missing" in message for message in window.notices.messages)
    # File → Choose Model… makes the chosen file the starting model, and active.
    chosen = faces_folder.parent / "chosen.pt"
    shutil.copy(tiny16, chosen)
    models.make_active(2, repredict=False)
    models.use_base_model(chosen)
    assert window.prediction.model_path == chosen and models.versions.active == 0


def test_the_model_menu_needs_a_folder(qtbot, make_window, tiny16):
    window = make_window(model=tiny16)
    assert not window.actions["fine_tune"].isEnabled() and not window.actions["model_versions"].isEnabled()
    window.actions["fine_tune"].trigger()
    window.actions["model_versions"].trigger()
    assert window.model_menu.fine_tune_dialog is None and window.model_menu.versions_dialog is None


def test_too_few_faces_are_refused_with_a_reason(qtbot, window):
    _correct(window, count=3)
    window.actions["fine_tune"].trigger()
    dialog = window.model_menu.fine_tune_dialog
    assert not dialog.start_button.isEnabled()
    assert "at least 5" in dialog.count_label.text()
    dialog.faces_combo.setCurrentIndex(dialog.faces_combo.findData("corrected"))
    assert dialog.count_label.text().startswith("1 face(s) chosen")
    assert "at least 5" in window.models.start_fine_tune(FineTuneSettings())
    assert not window.models.trainer.running


def test_holding_out_too_many_is_refused(qtbot, window):
    _correct(window, count=6)
    window.actions["fine_tune"].trigger()
    dialog = window.model_menu.fine_tune_dialog
    assert dialog.start_button.isEnabled()
    dialog.min_holdout.setValue(5)
    assert "hold out fewer" in dialog.count_label.text() and not dialog.start_button.isEnabled()


def test_a_failing_run_is_reported_and_leaves_nothing_behind(qtbot, window, tmp_path):
    _correct(window)
    models = window.models
    models.base_model = window.prediction.model_path = tmp_path / "gone.pt"
    with qtbot.waitSignal(models.run_ended, timeout=10_000) as ended:
        assert models.start_fine_tune(FineTuneSettings(epochs=1)) is None
    assert "Fine-tuning stopped" in ended.args[0] and "gone.pt" in ended.args[0]
    assert any("Fine-tuning stopped" in message for message in window.notices.messages)
    assert list((_models_folder(window) / "runs").iterdir()) == [] and models.versions.versions == []


def test_an_unwritable_folder_keeps_its_versions_with_its_state(qtbot, make_window, open_and_predict,
                                                              faces_folder, tiny16):
    (faces_folder / ".uglli").write_text("in the way")  # the folder's own state place is unusable
    window = make_window(model=tiny16)
    open_and_predict(window, faces_folder)
    _correct(window)
    with qtbot.waitSignal(window.models.version_added, timeout=20_000):
        assert window.models.start_fine_tune(FineTuneSettings(epochs=1)) is None
    models_folder = _models_folder(window)
    assert not models_folder.is_relative_to(faces_folder)
    assert models_folder == window.project.store.path.parent / "models"
    assert (models_folder / "v1.pt").is_file()


def _answer(qtbot, asked, text):
    """Answer the next message box with its button ``text``; what it said goes to ``asked``."""
    def act(box):
        asked.append(box.text())
        click_button(qtbot, box, text)
    when_shown(QMessageBox, act)


def _fine_tune_one_epoch(qtbot, window):
    """Correct faces and fine-tune on them for one epoch through the dialog: (dialog, version)."""
    _correct(window)
    window.actions["fine_tune"].trigger()
    dialog = window.model_menu.fine_tune_dialog
    dialog.epochs.setValue(1)
    with qtbot.waitSignal(window.models.version_added, timeout=20_000) as added:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    return dialog, added.args[0]


def test_quitting_mid_run_asks_and_stops_the_run_cleanly(qtbot, window):
    _correct(window)
    models = window.models
    events = []
    models.event.connect(events.append)
    assert models.start_fine_tune(FineTuneSettings(epochs=300)) is None
    qtbot.waitUntil(lambda: any(e["event"] == "step" for e in events), timeout=15_000)
    runs = _models_folder(window) / "runs"
    asked = []

    _answer(qtbot, asked, "Keep Working")
    window.actions["quit"].trigger()
    assert asked == ["A fine-tuning run is going: stop it and quit? Its model will not be saved."]
    assert window.isVisible() and models.trainer.running, "the window and the run go on"
    steps = sum(e["event"] == "step" for e in events)
    qtbot.waitUntil(lambda: sum(e["event"] == "step" for e in events) > steps, timeout=15_000)

    _answer(qtbot, asked, "Stop It and Quit")
    window.close()
    assert len(asked) == 2 and not window.isVisible()
    assert models.trainer._thread.isFinished(), "the thread was stopped and waited for"
    assert list(runs.iterdir()) == [] and not list(runs.parent.glob("v*.pt"))


def test_the_plot_shows_the_model_to_be_saved_and_ends_at_the_figure_reported(qtbot, window):
    """The held-out NME_io plotted is that of the blend saved: the starting model's at epoch
    0, the saved model's at the last epoch, the figures the dialog reports; the fine-tuned
    weights alone are plotted apart."""
    dialog, version = _fine_tune_one_epoch(qtbot, window)
    plot = dialog.plot
    assert [epoch for epoch, _ in plot.saved_points] == [0, 1]
    assert plot.saved_points[0][1] == pytest.approx(version.before["nme_io"])
    assert plot.saved_points[-1][1] == pytest.approx(version.after["nme_io"])
    assert [epoch for epoch, _ in plot.tuned_points] == [1]   # fit's own figure of the unblended weights
    assert plot._baseline.isVisible() and plot._baseline.value() == pytest.approx(version.before["nme_io"])
    assert plot.nme_plot.viewRange()[0][0] <= 0, "the starting model's figure is in view"
    reported = f"NME_io {version.before['nme_io']:.2f} → {version.after['nme_io']:.2f} %"
    assert reported in dialog.result_label.text()
    assert version.before["uncertainty"] > 0 and version.after["uncertainty"] > 0   # kept with the version
    share = version.config["share"]
    assert version.config["share_figures"][f"{share:g}"]["nme_io"] == pytest.approx(version.after["nme_io"])
    assert f"It keeps {100 * share:g} % of the fine-tuned weights, chosen among 5 blends" in dialog.result_label.text()


def test_a_risky_model_is_made_active_only_when_the_curator_says_so(qtbot, window, tiny16):
    models = window.models
    dialog, version = _fine_tune_one_epoch(qtbot, window)
    assert "Only 3 held-out faces" in dialog.result_label.text()
    asked = []

    # 3 held-out faces: asked, with the figures; keeping the current model changes nothing
    _answer(qtbot, asked, "Keep the Current Model")
    qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "Only 3 held-out faces" in asked[0]
    assert f"NME_io {version.before['nme_io']:.2f} → {version.after['nme_io']:.2f} %" in asked[0]
    assert "mean uncertainty" in asked[0]
    assert window.prediction.model_path == tiny16 and models.versions.active == 0
    assert dialog.activate_button.isVisible() and "kept aside" in dialog.status_label.text()

    # the curator makes it active after all: the folder is predicted again with it
    _answer(qtbot, asked, "Make Version 1 Active")
    with qtbot.waitSignal(window.prediction_done, timeout=20_000):
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 2 and models.versions.active == 1
    assert window.prediction.model_path == _models_folder(window) / "v1.pt"


def test_a_model_that_did_better_on_enough_faces_is_made_active_without_a_question(qtbot, window):
    models = window.models
    dialog, version = _fine_tune_one_epoch(qtbot, window)
    # figures as 25 held-out faces that it measured better and surer would give
    version.after = {**version.before, "faces": 25, "nme_io": 0.9 * version.before["nme_io"],
                     "uncertainty": 0.9 * version.before["uncertainty"]}
    modal = []

    def no_question():
        modal.append(QApplication.activeModalWidget())
        if modal[-1] is not None:
            modal[-1].reject()

    QTimer.singleShot(0, no_question)
    with qtbot.waitSignal(window.prediction_done, timeout=20_000):
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert modal == [None] and models.versions.active == 1


def test_the_risks_of_a_new_model_are_said_with_their_figures():
    good = activation_risks({"nme_io": 4.0, "uncertainty": 2.0}, {"nme_io": 3.9, "uncertainty": 1.9}, 20)
    assert good == []
    risks = activation_risks({"nme_io": 4.0, "uncertainty": 2.0}, {"nme_io": 4.2, "uncertainty": 2.5}, 3)
    assert len(risks) == 3 and risks[0].startswith("Only 3 held-out faces")
    assert "worse: 4.00 → 4.20 %" in risks[1]
    assert "rose from 2.00 to 2.50 % (+25 %)" in risks[2]
    assert activation_risks({"nme_io": 4.0}, {"nme_io": 3.0}, 30) == [], "a version kept without uncertainty"
