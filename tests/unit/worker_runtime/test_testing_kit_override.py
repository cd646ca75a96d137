"""The ``eventfn_functions`` fixture can be overridden, and a functions module the
test module imported itself is found by the harness (same handler objects)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

KIT_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "kit"
sys.path.insert(0, str(KIT_DIR))

import kit_imported  # noqa: E402 - after its folder is importable

from worker_runtime.testing import InProcessHarness  # noqa: E402


@pytest.fixture
def eventfn_functions() -> str:
    return "kit_imported"


def test_the_overridden_module_is_loaded(eventfn: InProcessHarness) -> None:
    assert eventfn.functions == ["kit-imported"]


def test_functions_imported_before_the_harness_run_as_the_same_objects(
    eventfn: InProcessHarness,
) -> None:
    event_id = eventfn.publish({"type": "com.example.kit.imported", "source": "/tests"})
    [handled] = eventfn.wait_for("kit-imported")
    assert handled.event is not None
    assert handled.event.get_id() == event_id
    assert event_id in kit_imported.SEEN
    kit_imported.imported.send(None)
    assert len(eventfn.wait_for(kit_imported.imported, count=2)) == 2
