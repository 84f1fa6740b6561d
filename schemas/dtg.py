"""Date-time group rendering (``DDHHMMZ MON YYYY``), derived from a UTC timestamp.

The DTG is display only: timestamps are stored as UTC datetimes and the DTG is computed.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

# English military month abbreviations, independent of the process locale.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


# A batch's envelopes share one release time: its DTG is rendered once. Aware datetimes hash
# and compare by their UTC instant, which is all the DTG depends on; naive ones raise.
@functools.lru_cache(maxsize=256)
def format_dtg(moment: datetime) -> str:
    """Render e.g. ``141312Z MAR 2026``; refuses naive datetimes (local time without a zone)."""
    if moment.utcoffset() is None:
        raise ValueError("a date-time group needs a timezone-aware datetime")
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return f"{utc.day:02d}{utc.hour:02d}{utc.minute:02d}Z {_MONTHS[utc.month - 1]} {utc.year:04d}"
