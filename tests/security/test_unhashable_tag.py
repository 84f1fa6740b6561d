"""Found by schemathesis: a submission whose body tag is not a string (``{"kind": {}}``) made
the strict unknown-field walk raise TypeError, and the gateway answered 500. It is a 422."""

from __future__ import annotations

import msgspec
import pytest

from services.gateway import submit
from services.gateway.problems import Problem


@pytest.mark.parametrize("tag", [{}, [], 1, None])
def test_a_non_string_body_tag_is_invalid_input_not_a_server_error(tag: object) -> None:
    raw = {
        "traffic_type": "OPERATION",
        "action_to": ["fra.cell"],
        "primary_precedence": "ROUTINE",
        "label": {
            "policy": "NATO",
            "classification": "NATO RESTRICTED",
            "releasable_to": ["FRA"],
            "created_at": "2026-03-14T13:12:00Z",
        },
        "subject": "tag",
        "body": {"kind": tag, "text": "x"},
    }
    with pytest.raises(Problem) as refused:
        submit._submission(msgspec.json.encode(raw))
    assert refused.value.status == 422
