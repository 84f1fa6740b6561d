"""The tasking integration tests share the Kafka helpers of tests/monitoring."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "monitoring"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
