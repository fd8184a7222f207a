"""Help → How to Review: the day's loop, what the marks mean and the keys that matter,
on a page beside the shortcuts. The keys are read from the actions table, so the page
cannot name a key the app does not have."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence

from .actions import ACTIONS

GUIDE = """
<h3>The day's loop</h3>
<p>Open a folder: the model labels every face in the background and then shows the face
it is least sure of. The list on the left is sorted by uncertainty, worst first. Press
<b>{next_uncertain_point}</b> to go to the most uncertain point not yet reviewed in the
whole folder, and <b>{next_uncertain_in_face}</b> to go to the next one of the face
shown (points outside the photo come last: they cannot be checked by eye).</p>
<p>Fix a point by dragging its dot, or select it and Ctrl+click where it belongs. The
arrow keys nudge it by one screen pixel (Shift: ten), so zooming in makes them finer.
<b>{toggle_point_reviewed}</b> marks a point reviewed, <b>{accept_face}</b> accepts the
face and goes to the next one, <b>{not_a_face}</b> deletes a box that is not a face.
A point you cannot see (behind hair, a hand, the face's own turn) still belongs where
you judge it to be: place it there and press <b>{toggle_occluded}</b> to mark it
occluded. It is exported as not visible (COCO v=1; a .pts file has no such flag and
holds it as placed) and fine-tuning takes it as uncertain rather than exact.
A face photographed the wrong way round gets an upright template: press
<b>{turn_face}</b> to turn it a quarter clockwise until it is upright, and it is predicted
again (the model also tries the quarter turns itself for a face it cannot read upright).
Every edit is saved at once and is one undo step (<b>{undo}</b>); undo brings the face
it changes into view. When the faces you care about are done, export them
(<b>{export}</b>) and, if you like, fine-tune the model on them (Model menu).</p>
<p>As you review, the model learns the folder's own habits without training: when the
faces you have accepted or corrected reach 10, then 30, 100, 300 and 1000, it learns
each point's usual offset and how wide its ellipses must be from them, holding a few
out to measure, and predicts the unreviewed faces again (your faces keep their points).
A notice gives the figures before and after; its Turn Off button, or Model → Calibrate
to This Folder as I Review, goes back to the model used before.</p>

<h3>What the marks mean</h3>
<p>Each dot is a point of the face, coloured by how sure the model is of it beside the
rest of the folder: green as sure as of the surest tenth of the folder's points, red as
unsure as of the least sure tenth (the legend gives the two values, which move as the
folder is predicted). A face of red dots is one the model is much less sure of than of
the others, often a box on something that is not a face. Its ellipse is the model's
1σ ellipse: the model expects the point inside it about four times in ten, and a long
ellipse means it hesitates along that direction. Where the dots are an annotation or
your corrections, the crosses are the model's own points; a dot well outside its ellipse
(a large d² in the status bar and the list) is where the annotation and the model
disagree: one of them is wrong. A yellow ring marks the point selected, a white ring a
point reviewed, a hollow dashed ring a point marked occluded. After a correction the
unreviewed points follow it and their ellipses shrink. The legend (View menu) says which
mark is which.</p>

<h3>Moving around</h3>
<p>The wheel zooms about the cursor; a middle-button drag, or a left drag with Space
held, pans. <b>{fit_image}</b> fits the photo, <b>{fit_face}</b> the face;
<b>{next_face}</b> and <b>{previous_face}</b> go through the list. A folder opened
again comes back as you left it: the list's sort, the face shown and the zoom. The Keys
page lists every shortcut.</p>
"""


def review_guide() -> str:
    """The How to Review page, as rich text, with each action's first key as the menus write it."""
    return GUIDE.format(**{spec.name: QKeySequence(spec.keys[0]).toString(QKeySequence.SequenceFormat.NativeText)
                           for spec in ACTIONS if spec.keys})
