"""JSON that strict parsers accept: Python writes an undefined figure (a correlation
over one face, say) as ``NaN``, which is not JSON; here it is ``null``."""
from __future__ import annotations

import json
import math


def finite(value):
    """``value`` with every NaN or infinite float inside it replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(value, **options) -> str:
    """``json.dumps`` of :func:`finite` ``(value)``."""
    return json.dumps(finite(value), allow_nan=False, **options)
