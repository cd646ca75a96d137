"""Function and Subscription custom resources <-> :class:`k8s.model.FunctionSpec`.

``function_resource`` / ``spec_from_resource`` are a symmetric pair: ``eventfn
manifests`` renders the resources a user applies, and the operator reads a Function
resource back into a spec before rendering its workload. ``subscription_resources``
renders the function's subscription (its filters a conjunction, exactly as
``@function(subscribe=[...])`` routes locally), which the bridge watches in cluster mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from k8s.errors import InvalidResource
from k8s.model import FunctionSpec
from k8s.render.meta import (
    API_VERSION,
    FUNCTION_KIND,
    SUBSCRIPTION_KIND,
    labels,
)
from k8s.render.settings import RenderSettings

__all__ = ["function_resource", "spec_from_resource", "subscription_resources"]


def function_resource(spec: FunctionSpec, settings: RenderSettings) -> dict[str, Any]:
    """The ``Function`` resource describing ``spec`` (its subscriptions are separate)."""
    body: dict[str, Any] = {
        "image": spec.image,
        "timeoutSeconds": spec.timeout_seconds,
        "drainSeconds": spec.drain_seconds,
        "concurrency": spec.concurrency,
        "scaling": spec.scaling.model_dump(by_alias=True, exclude_none=True),
        "resources": spec.resources.model_dump(by_alias=True),
    }
    if spec.env:
        body["env"] = [{"name": key, "value": value} for key, value in spec.env.items()]
    if spec.functions_module:
        body["functionsModule"] = spec.functions_module
    return {
        "apiVersion": API_VERSION,
        "kind": FUNCTION_KIND,
        "metadata": {
            "name": spec.name,
            "namespace": settings.namespace,
            "labels": labels(spec.name, "function"),
        },
        "spec": body,
    }


def subscription_resources(spec: FunctionSpec, settings: RenderSettings) -> list[dict[str, Any]]:
    """The ``Subscription`` of ``spec``, named ``<function>-0``, with every filter (a
    conjunction); none when the function has no filters (direct invocations only).

    One resource per filter (as before) made a disjunction of what the bridge routes as a
    conjunction locally: an event matching one filter reached the function in a cluster
    and not on a laptop."""
    if not spec.subscriptions:
        return []
    return [
        {
            "apiVersion": API_VERSION,
            "kind": SUBSCRIPTION_KIND,
            "metadata": {
                "name": f"{spec.name}-{index}",
                "namespace": settings.namespace,
                "labels": labels(spec.name, "subscription"),
            },
            "spec": {"function": spec.name, "filters": [dict(f) for f in spec.subscriptions]},
        }
        for index in (0,)
    ]


def spec_from_resource(
    resource: Mapping[str, Any], subscriptions: tuple[dict[str, Any], ...] = ()
) -> FunctionSpec:
    """Read a ``Function`` resource (as the API returns it) back into a spec.

    Raises :class:`k8s.errors.InvalidResource` naming every problem at once.
    """
    meta = resource.get("metadata") or {}
    name = str(meta.get("name", "<unnamed>"))
    if resource.get("apiVersion") != API_VERSION or resource.get("kind") != FUNCTION_KIND:
        raise InvalidResource(
            name,
            f"expected {API_VERSION} {FUNCTION_KIND}, got "
            f"{resource.get('apiVersion')} {resource.get('kind')}",
        )
    body = dict(resource.get("spec") or {})
    env = body.pop("env", None) or []
    try:
        return FunctionSpec.model_validate(
            {
                **body,
                "name": name,
                "env": {item["name"]: item.get("value", "") for item in env},
                "subscriptions": subscriptions,
            }
        )
    except (ValidationError, KeyError, TypeError) as exc:
        raise InvalidResource(name, str(exc)) from exc
