"""Whether a folder calibrates its model to the faces the curator reviews, and at which
count of reviewed faces it last did, kept in the folder's store (no Qt).

The model is calibrated when the reviewed or corrected faces first reach each of
:data:`STEPS` (each step once): 10 faces already move each point's mean offset and the
ellipses' scale most of the way (``uglli calibrate`` on ytf-frames: coverage 10.8 % →
36.9 % from 10 faces, 39.4 % from 30), and each later step learns from about three
times as many faces.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

CALIBRATION_SETTING = "calibrate_as_i_review"   # the store's setting (ReviewStore.setting) that holds it
STEPS = (10, 30, 100, 300, 1000)


@dataclass(frozen=True)
class CalibrationSetting:
    on: bool = True           # calibrate as the curator reviews (Model → Calibrate to This Folder as I Review)
    last_step: int = 0        # the largest of STEPS the folder was calibrated at (0: none yet)

    def due(self, count: int) -> int | None:
        """The step that ``count`` reviewed faces call for a calibration at; None when
        calibrating is off or that step was reached before."""
        step = step_reached(count)
        return step if self.on and step > self.last_step else None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> CalibrationSetting:
        """The setting ``text`` keeps; the default (on, never calibrated) when there is none
        or it cannot be read."""
        try:
            values = json.loads(text)
            setting = cls(bool(values["on"]), int(values["last_step"]))
        except (TypeError, ValueError, KeyError, AttributeError):
            return cls()
        return setting if setting.last_step >= 0 else cls()


def step_reached(count: int) -> int:
    """The largest of :data:`STEPS` that ``count`` faces reach; 0 below the first."""
    return max((step for step in STEPS if step <= count), default=0)
