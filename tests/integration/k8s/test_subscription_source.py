"""The ``k8s`` subscription source against the in-test API server: Functions and
Subscriptions listed and watched (add, modify, delete), subscriptions to unknown
Functions and invalid ones skipped, relist after 410 Gone and on resync."""

from __future__ import annotations

import threading
import time

import pytest
from support.apiserver import ApiServer

from k8s.subscription_source import ClusterSource, table_from_resources

pytestmark = pytest.mark.integration

NS = "eventfn"
SUBSCRIPTIONS = f"/apis/eventfn.io/v1alpha1/namespaces/{NS}/subscriptions"
FUNCTIONS = f"/apis/eventfn.io/v1alpha1/namespaces/{NS}/functions"


def subscription(name, function, filters):
    return {
        "apiVersion": "eventfn.io/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"function": function, "filters": filters},
    }


def function(name):
    return {
        "apiVersion": "eventfn.io/v1alpha1",
        "kind": "Function",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"image": "eventfn:dev"},
    }


def routes(source):
    return {s.name: s.function for s in source.table().subscriptions}


def eventually(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture
def server():
    with ApiServer(namespaces=[NS]) as fake:
        yield fake


@pytest.fixture
def watched(server):
    """Start a ClusterSource's watch; yields (source, changes)."""
    api = server.client()
    stop = threading.Event()
    sources = []

    def start(**kwargs):
        source = ClusterSource(api, NS, watch_timeout=1, **kwargs)
        changes = []
        thread = threading.Thread(target=source.watch, args=(lambda: changes.append(1), stop))
        thread.start()
        sources.append(thread)
        assert source.wait_ready(10)
        return source, changes

    yield start
    stop.set()
    for thread in sources:
        thread.join(timeout=10)
    api.close()


def test_routes_only_subscriptions_to_known_functions_and_follows_changes(server, watched):
    server.put(FUNCTIONS, function("orders"))
    server.put(FUNCTIONS, function("mail"))
    server.put(SUBSCRIPTIONS, subscription("orders-0", "orders", [{"prefix": {"type": "com.x."}}]))
    server.put(SUBSCRIPTIONS, subscription("mail-0", "mail", [{"sql": "subject = 'a'"}]))
    server.put(SUBSCRIPTIONS, subscription("stray-0", "nope", []))
    source, changes = watched()
    assert routes(source) == {"orders-0": "orders", "mail-0": "mail"}
    assert source.has_function("mail")
    assert not source.has_function("nope")
    table = source.table()
    assert table.get("orders-0").matches({"type": "com.x.created", "source": "s", "id": "1"})

    seen = len(changes)
    server.put(SUBSCRIPTIONS, subscription("mail-0", "mailer", []))
    eventually(lambda: "mail-0" not in routes(source))  # mailer is not a Function (yet)
    assert len(changes) > seen, "every change is announced"
    server.put(FUNCTIONS, function("mailer"))
    eventually(lambda: routes(source).get("mail-0") == "mailer")
    assert source.has_function("mailer")

    # an invalid CESQL expression: left out, the rest keeps routing
    server.put(SUBSCRIPTIONS, subscription("bad-0", "orders", [{"sql": "subject = ("}]))
    server.remove(SUBSCRIPTIONS, "orders-0")
    server.put(SUBSCRIPTIONS, subscription("orders-1", "orders", [{"exact": {"type": "com.x.a"}}]))
    eventually(lambda: routes(source) == {"orders-1": "orders", "mail-0": "mailer"})

    server.remove(FUNCTIONS, "orders")
    eventually(lambda: routes(source) == {"mail-0": "mailer"})
    assert not source.has_function("orders")


def test_function_names_only_watches_no_subscriptions(server, watched):
    server.put(FUNCTIONS, function("orders"))
    source, _ = watched(with_subscriptions=False)
    assert source.functions() == {"orders"}
    assert not server.calls("GET", SUBSCRIPTIONS), "the ingress may not read Subscriptions"


def test_relists_after_410_gone(server, watched):
    server.put(FUNCTIONS, function("late"))
    source, _ = watched()
    server.oldest_watchable = 10**9
    server.put(SUBSCRIPTIONS, subscription("late-0", "late", []))
    eventually(lambda: routes(source) == {"late-0": "late"})

    def relisted():
        calls = [r for r in server.calls("GET", SUBSCRIPTIONS) if not r.query.get("watch")]
        return len(calls) >= 2

    eventually(relisted)
    server.oldest_watchable = 0
    server.put(SUBSCRIPTIONS, subscription("later-0", "late", []))
    eventually(lambda: routes(source) == {"late-0": "late", "later-0": "late"})


def test_resync_notices_deletions_missed_by_the_watch(server, watched):
    server.put(FUNCTIONS, function("a"))
    server.put(SUBSCRIPTIONS, subscription("a-0", "a", []))
    source, _ = watched(resync_seconds=1)
    assert routes(source) == {"a-0": "a"}
    with server.cond:  # lost while nobody watched: dropped from the server's event log
        server.objects.pop((SUBSCRIPTIONS, "a-0"))
    eventually(lambda: routes(source) == {})


def test_table_from_resources_orders_by_name_and_skips_invalid():
    problems = []
    table = table_from_resources(
        {
            "b-0": subscription("b-0", "b", []),
            "a-0": subscription("a-0", "a", []),
            "bad": subscription("bad", "Not_A_Name", []),
        },
        lambda resource, problem: problems.append(resource["metadata"]["name"]),
    )
    assert [s.name for s in table.subscriptions] == ["a-0", "b-0"]
    assert problems == ["bad"]
