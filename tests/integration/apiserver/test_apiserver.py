"""The in-test API server speaks what the official client's ``DynamicClient`` and
``kubernetes.watch`` need: discovery, CRUD, the patch flavours, server-side apply with
field managers, watches from a resourceVersion, subresources, CRDs, garbage collection."""

from __future__ import annotations

import threading

import pytest
from kubernetes import watch
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, UnprocessibleEntityError
from support.apiserver import ApiServer

pytestmark = pytest.mark.integration

NS = "shop"


def deployment(name="web", replicas=2, image="web:1", **labels):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name, **labels}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


@pytest.fixture
def server(tmp_path):
    with ApiServer(namespaces=[NS]) as api:
        yield api


@pytest.fixture
def dyn(server, tmp_path):
    api_client = server.client()
    yield DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    api_client.close()


def test_discovery_finds_builtin_kinds_and_the_shipped_crds(dyn):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert (deployments.namespaced, deployments.name) == (True, "deployments")
    assert {"scale", "status"} <= set(deployments.subresources)
    functions = dyn.resources.get(api_version="eventfn.io/v1alpha1", kind="Function")
    assert functions.name == "functions"
    subscriptions = dyn.resources.get(api_version="eventfn.io/v1alpha1", kind="Subscription")
    assert "status" in subscriptions.subresources
    assert dyn.resources.get(api_version="v1", kind="Namespace").namespaced is False
    assert dyn.version["kubernetes"]["major"] == "1"


def test_crud_with_defaults_generation_and_optimistic_concurrency(dyn):
    api = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    created = api.create(body=deployment(), namespace=NS)
    assert created.metadata.generation == 1
    assert created.spec.strategy.rollingUpdate.maxSurge == "25%"  # the API's defaults
    with pytest.raises(ConflictError):
        api.create(body=deployment(), namespace=NS)
    body = created.to_dict()
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    replaced = api.replace(body=body, namespace=NS)
    assert replaced.metadata.generation == 2
    stale = created.to_dict()
    stale["spec"]["replicas"] = 7
    with pytest.raises(ConflictError):
        api.replace(body=stale, namespace=NS)  # resourceVersion of the first version
    patched = api.patch(
        name="web",
        namespace=NS,
        body={
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "main", "env": [{"name": "A", "value": "1"}]}]}
                }
            }
        },
    )  # strategic merge: the container merges by name
    container = patched.spec.template.spec.containers[0]
    assert (container.image, container.env[0].value) == ("web:2", "1")
    merged = api.patch(
        name="web",
        namespace=NS,
        body={"metadata": {"labels": {"tier": "front"}}},
        content_type="application/merge-patch+json",
    )
    assert merged.metadata.labels.tier == "front"
    assert merged.metadata.generation == 3  # labels are metadata: no bump after the patch
    listed = api.get(namespace=NS, label_selector="tier=front")
    assert [i.metadata.name for i in listed.items] == ["web"]
    assert api.get(namespace=NS, label_selector="tier!=front").items == []
    assert [i.metadata.name for i in api.get().items] == ["web"]  # all namespaces
    api.delete(name="web", namespace=NS)
    with pytest.raises(NotFoundError):
        api.get(name="web", namespace=NS)


def test_a_namespace_must_exist_and_the_crd_schema_is_enforced(dyn):
    api = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    with pytest.raises(NotFoundError):
        api.create(
            body={**deployment(), "metadata": {"name": "x", "namespace": "nope"}}, namespace="nope"
        )
    subscriptions = dyn.resources.get(api_version="eventfn.io/v1alpha1", kind="Subscription")
    with pytest.raises(UnprocessibleEntityError, match="function"):
        subscriptions.create(
            namespace=NS,
            body={
                "apiVersion": "eventfn.io/v1alpha1",
                "kind": "Subscription",
                "metadata": {"name": "s"},
                "spec": {"filters": []},
            },
        )
    created = subscriptions.create(
        namespace=NS,
        body={
            "apiVersion": "eventfn.io/v1alpha1",
            "kind": "Subscription",
            "metadata": {"name": "s"},
            "spec": {"function": "mailer", "unknownField": 1},
        },
    )
    assert "unknownField" not in created.spec  # pruned, as a structural schema does


def test_server_side_apply_tracks_field_managers(dyn):
    api = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = deployment()
    body["metadata"]["annotations"] = {"team": "a"}
    first = api.server_side_apply(body=body, namespace=NS, field_manager="operator")
    assert first.spec.replicas == 2
    assert [m.manager for m in first.metadata.managedFields] == ["operator"]
    # another manager scales through the scale subresource: it now owns spec.replicas
    api.subresources["scale"].patch(
        name="web",
        namespace=NS,
        body={"spec": {"replicas": 5}},
        content_type="application/merge-patch+json",
        field_manager="autoscaler",
    )
    with pytest.raises(ConflictError, match="autoscaler"):
        api.server_side_apply(body=deployment(), namespace=NS, field_manager="operator")
    forced = api.server_side_apply(
        body=deployment(), namespace=NS, field_manager="operator", force_conflicts=True
    )
    assert forced.spec.replicas == 2
    assert "annotations" not in forced.metadata.to_dict() or not forced.metadata.annotations
    # an apply without replicas leaves the field to whoever owns it
    slim = deployment()
    del slim["spec"]["replicas"]
    api.subresources["scale"].patch(
        name="web",
        namespace=NS,
        body={"spec": {"replicas": 4}},
        content_type="application/merge-patch+json",
        field_manager="autoscaler",
    )
    assert (
        api.server_side_apply(body=slim, namespace=NS, field_manager="operator").spec.replicas == 4
    )


def test_status_and_scale_subresources(dyn):
    api = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    api.create(body=deployment(), namespace=NS)
    api.patch(
        name="web",
        namespace=NS,
        body={"status": {"readyReplicas": 9}},
        content_type="application/merge-patch+json",
    )
    assert not api.get(name="web", namespace=NS).status  # the main resource ignores status
    api.subresources["status"].patch(
        name="web",
        namespace=NS,
        body={"status": {"replicas": 2, "readyReplicas": 1}},
        content_type="application/merge-patch+json",
    )
    assert api.get(name="web", namespace=NS).status.readyReplicas == 1
    scale = api.subresources["scale"].get(name="web", namespace=NS)
    assert (scale.kind, scale.spec.replicas, scale.status.selector) == ("Scale", 2, "app=web")
    api.subresources["scale"].replace(
        name="web",
        namespace=NS,
        body={
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"replicas": 0},
        },
    )
    assert api.get(name="web", namespace=NS).spec.replicas == 0


def test_garbage_collection_follows_owner_references(dyn):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    sets = dyn.resources.get(api_version="apps/v1", kind="ReplicaSet")
    owner = deployments.create(body=deployment(), namespace=NS)
    ref = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": owner.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for name in ("web-1", "web-2"):
        sets.create(
            namespace=NS,
            body={
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": name, "ownerReferences": [ref]},
                "spec": {"selector": {"matchLabels": {"app": "web"}}},
            },
        )
    unowned = deployments.create(body=deployment("other"), namespace=NS)
    deployments.delete(name="web", namespace=NS)  # Background
    assert sets.get(namespace=NS).items == []
    assert deployments.get(name="other", namespace=NS).metadata.uid == unowned.metadata.uid
    owner = deployments.create(body=deployment(), namespace=NS)
    ref["uid"] = owner.metadata.uid
    sets.create(
        namespace=NS,
        body={
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web-3", "ownerReferences": [ref]},
            "spec": {"selector": {"matchLabels": {"app": "web"}}},
        },
    )
    deployments.delete(name="web", namespace=NS, body={"propagationPolicy": "Orphan"})
    orphan = sets.get(name="web-3", namespace=NS)
    assert not orphan.metadata.ownerReferences


def test_watch_streams_changes_from_a_resource_version(dyn):
    api = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    api.create(body=deployment("a"), namespace=NS)
    listing = api.get(namespace=NS)
    seen = []
    done = threading.Event()

    def consume():
        w = watch.Watch()
        for event in w.stream(
            api.get,
            namespace=NS,
            resource_version=listing.metadata.resourceVersion,
            timeout_seconds=5,
            serialize=False,
        ):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if len(seen) == 3:
                w.stop()
        done.set()

    thread = threading.Thread(target=consume)
    thread.start()
    api.create(body=deployment("b"), namespace=NS)
    api.patch(
        name="b",
        namespace=NS,
        body={"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )
    api.delete(name="b", namespace=NS)
    assert done.wait(10)
    thread.join()
    assert seen == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]


def test_a_watch_without_resource_version_starts_with_what_exists_and_too_old_is_gone(server, dyn):
    api = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    api.create(body=deployment("a"), namespace=NS)
    events = list(dyn.watch(api, namespace=NS, timeout=1))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "a")]
    server.oldest_watchable = 10**9
    w = watch.Watch()
    with pytest.raises(Exception, match=r"410|too old"):
        list(
            w.stream(
                api.get, namespace=NS, resource_version="5", timeout_seconds=1, serialize=False
            )
        )
