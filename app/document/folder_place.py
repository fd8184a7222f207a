"""Where the reviewer was in a folder: how the face list was sorted, the face shown and
the view's zoom, kept in the folder's store when it closes so that opening it again
goes back there (no Qt)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

PLACE_SETTING = "place"      # the store's setting (ReviewStore.setting) that holds it
FITS = (None, "image", "face")


@dataclass(frozen=True)
class FolderPlace:
    sort_column: int                        # a column of the face list (app.views.face_table)
    descending: bool
    face_id: int | None = None              # the face shown,
    image_id: int | None = None             # or the image, when it has no face
    fitted: str | None = None               # "image" or "face" while the view fitted it; else
    scale: float = 1.0                      # its zoom (screen pixels per image pixel)
    centre: tuple[float, float] = (0.0, 0.0)   # and the image point at its centre

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None, columns: int) -> FolderPlace | None:
        """The place ``text`` keeps, for a face list of ``columns`` columns; None when there
        is none or it cannot be used (written by another version, damaged): the folder
        then opens as a new one would."""
        try:
            values = json.loads(text)
            place = cls(int(values["sort_column"]), bool(values["descending"]),
                        _id(values.get("face_id")), _id(values.get("image_id")), values.get("fitted"),
                        float(values["scale"]), tuple(float(v) for v in values["centre"]))
        except (TypeError, ValueError, KeyError, AttributeError):
            return None
        usable = (0 <= place.sort_column < columns and place.fitted in FITS and len(place.centre) == 2
                  and 0 < place.scale < float("inf") and all(abs(v) < float("inf") for v in place.centre))
        return place if usable else None


def _id(value) -> int | None:
    return None if value is None else int(value)
