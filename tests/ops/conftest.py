"""The ops tests reuse the tasking fixtures of tests/unit (test orders and statuses)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
