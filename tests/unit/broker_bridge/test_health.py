"""The health model and its HTTP server: stale loops fail liveness, waiting loops stay
live, readiness needs every flag, the server answers JSON on a real socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from broker_bridge.health import Health, serve_health


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_that_stops_beating_fails_liveness() -> None:
    clock = Clock()
    health = Health(stale_after=10, clock=clock)
    assert health.live()[0], "no loop registered yet: nothing to fail"
    health.beat("bridge")
    clock.now += 9
    assert health.live()[0]
    clock.now += 2
    live, body = health.live()
    assert not live
    assert body["loops"]["bridge"] == {"age_seconds": 11.0, "alive": False}
    health.beat("bridge")
    assert health.live()[0]


def test_waiting_stays_live_until_the_loop_beats_again() -> None:
    clock = Clock()
    health = Health(stale_after=10, clock=clock)
    health.beat("worker")
    health.waiting("worker", "reconnecting")
    clock.now += 1000
    live, body = health.live()
    assert live
    assert body["loops"]["worker"] == {"waiting": "reconnecting"}
    health.beat("worker")
    clock.now += 11
    assert not health.live()[0], "beating again ends the waiting"


def test_readiness_needs_every_flag_and_liveness() -> None:
    clock = Clock()
    health = Health(stale_after=10, clock=clock)
    assert not health.ready()[0], "no flag set: not ready"
    health.set_ready("broker", True)
    health.set_ready("subscriptions", False)
    ready, body = health.ready()
    assert not ready
    assert body["checks"] == {"broker": True, "subscriptions": False}
    health.set_ready("subscriptions", True)
    assert health.ready()[0]
    health.beat("bridge")
    clock.now += 11
    assert not health.ready()[0], "a stale loop is not ready either"


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_answers_both_paths_on_a_real_port() -> None:
    clock = Clock()
    health = Health(stale_after=10, clock=clock)
    server = serve_health(health, 0, host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{server.port}"
        health.beat("bridge")
        assert _get(f"{base}/healthz")[0] == 200
        status, body = _get(f"{base}/readyz")
        assert (status, body["status"]) == (503, "not ready")
        health.set_ready("broker", True)
        assert _get(f"{base}/readyz")[0] == 200
        clock.now += 60
        status, body = _get(f"{base}/healthz")
        assert (status, body["status"]) == (503, "stale")
        assert _get(f"{base}/nothing")[0] == 404
    finally:
        server.close()
