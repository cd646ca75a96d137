"""The bridge's Subscription source against the in-test API server: list, watch
(add, modify, delete), invalid resources skipped, relist after 410 Gone and on resync."""

from __future__ import annotations

import threading

import pytest
from support.apiserver import ApiServer

from k8s.subscription_source import subscription_tables, table_from_resources

pytestmark = pytest.mark.integration

NS = "eventfn"
SUBSCRIPTIONS = f"/apis/eventfn.io/v1alpha1/namespaces/{NS}/subscriptions"


def subscription(name, function, filters):
    return {
        "apiVersion": "eventfn.io/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"function": function, "filters": filters},
    }


def routes(table):
    return {s.name: s.function for s in table.subscriptions}


@pytest.fixture
def server():
    with ApiServer(namespaces=[NS]) as fake:
        yield fake


def test_list_then_watch_yields_a_table_per_change(server):
    server.put(SUBSCRIPTIONS, subscription("orders-0", "orders", [{"prefix": {"type": "com.x."}}]))
    api = server.client()
    stop = threading.Event()
    tables = subscription_tables(api, NS, stop, watch_timeout=1)
    try:
        first = next(tables)
        assert routes(first) == {"orders-0": "orders"}
        assert first.get("orders-0").matches({"type": "com.x.created", "source": "s", "id": "1"})

        server.put(SUBSCRIPTIONS, subscription("mail-0", "mail", [{"sql": "subject = 'a'"}]))
        assert routes(next(tables)) == {"orders-0": "orders", "mail-0": "mail"}

        server.put(SUBSCRIPTIONS, subscription("mail-0", "mailer", []))
        assert routes(next(tables))["mail-0"] == "mailer"

        # an invalid CESQL expression: left out, the rest keeps routing
        server.put(SUBSCRIPTIONS, subscription("bad-0", "orders", [{"sql": "subject = ("}]))
        assert routes(next(tables)) == {"orders-0": "orders", "mail-0": "mailer"}

        server.remove(SUBSCRIPTIONS, "orders-0")
        assert routes(next(tables)) == {"mail-0": "mailer"}

        # the watch's resourceVersion expires: the next watch gets 410 Gone -> relist
        server.oldest_watchable = 10**9
        server.put(SUBSCRIPTIONS, subscription("late-0", "late", []))
        assert routes(next(tables)) == {"mail-0": "mailer", "late-0": "late"}
        assert routes(next(tables)) == {"mail-0": "mailer", "late-0": "late"}  # relisted
        server.oldest_watchable = 0
        watch_calls = [r for r in server.calls("GET", SUBSCRIPTIONS) if r.query.get("watch")]
        list_calls = [r for r in server.calls("GET", SUBSCRIPTIONS) if not r.query.get("watch")]
        assert len(list_calls) >= 2
        assert all(r.query["resourceVersion"] for r in watch_calls)
    finally:
        stop.set()
        tables.close()
        api.close()


def test_resync_relists_and_notices_deletions_missed_by_the_watch(server):
    server.put(SUBSCRIPTIONS, subscription("a-0", "a", []))
    api = server.client()
    stop = threading.Event()
    tables = subscription_tables(api, NS, stop, watch_timeout=1, resync_seconds=1)
    try:
        assert routes(next(tables)) == {"a-0": "a"}
        # lost while nobody watched: dropped from the server's event log
        with server.cond:
            server.objects.pop((SUBSCRIPTIONS, "a-0"))
        assert routes(next(tables)) == {}
    finally:
        stop.set()
        tables.close()
        api.close()


def test_table_from_resources_orders_by_name_and_skips_invalid():
    table = table_from_resources(
        {
            "b-0": subscription("b-0", "b", []),
            "a-0": subscription("a-0", "a", []),
            "bad": subscription("bad", "Not_A_Name", []),
        }
    )
    assert [s.name for s in table.subscriptions] == ["a-0", "b-0"]
