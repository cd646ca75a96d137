"""Task ids are uuid5 of (function, source, id, hop): stable across bridges and hops."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from broker_bridge.taskmessage import _NAMESPACE, task_id_for

text = st.text(max_size=40)


@given(text, text, text, text)
def test_task_id_is_uuid5_of_the_routing_key(
    function: str, source: str, event_id: str, hop: str
) -> None:
    expected = uuid.uuid5(_NAMESPACE, f"{function}\x00{source}\x00{event_id}\x00{hop}")
    assert task_id_for(function, source, event_id, hop) == str(expected)
    assert uuid.UUID(task_id_for(function, source, event_id, hop)).version == 5


def test_task_ids_differ_per_function_and_hop() -> None:
    ids = {task_id_for(f, "/s", "1", h) for f in ("a", "b") for h in ("", "1")}
    assert len(ids) == 4
