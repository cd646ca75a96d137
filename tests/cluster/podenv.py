"""A container's environment, built as the kubelet builds it: service-link variables
(unless ``enableServiceLinks: false``) and the API server's ``KUBERNETES_SERVICE_*``,
then ``envFrom``, then ``env`` in order; ``value`` with ``$(VAR)`` expanded against what
is defined so far, ``valueFrom`` from ``secretKeyRef``, ``configMapKeyRef``, ``fieldRef``
and ``resourceFieldRef``. Command and args get the same ``$(VAR)`` expansion."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from typing import Any

Lookup = Callable[[str, str], dict[str, Any] | None]  # (kind plural, name) -> object
_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ContainerConfigError(Exception):
    """What the kubelet reports as ``CreateContainerConfigError``."""


def expand(text: str, defined: dict[str, str]) -> str:
    """``$(VAR)`` -> its value when defined (else left as is); ``$$`` -> ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return defined.get(name, match.group(0))

    return _REF.sub(replace, text)


def service_links(services: list[dict[str, Any]]) -> dict[str, str]:
    """The ``<NAME>_SERVICE_HOST``/``<NAME>_PORT...`` variables Kubernetes injects."""
    env: dict[str, str] = {}
    for service in services:
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        name = service["metadata"]["name"].upper().replace("-", "_")
        first = ports[0]
        env[f"{name}_SERVICE_HOST"] = ip
        env[f"{name}_SERVICE_PORT"] = str(first["port"])
        env[f"{name}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"
        for port in ports:
            proto = port.get("protocol", "TCP")
            if port.get("name"):
                env[f"{name}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(
                    port["port"]
                )
            prefix = f"{name}_PORT_{port['port']}_{proto}"
            env[prefix] = f"{proto.lower()}://{ip}:{port['port']}"
            env[f"{prefix}_PROTO"] = proto.lower()
            env[f"{prefix}_PORT"] = str(port["port"])
            env[f"{prefix}_ADDR"] = ip
    return env


def _decoded(secret: dict[str, Any], key: str) -> str | None:
    data = secret.get("data") or {}
    if key in data:
        return base64.b64decode(data[key]).decode()
    return None


def _field(pod: dict[str, Any], path: str) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    labelled = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if labelled:
        return str((meta.get(labelled.group(1)) or {}).get(labelled.group(2), ""))
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or []),
    }
    if path not in simple:
        raise ContainerConfigError(f"unsupported fieldRef fieldPath {path!r}")
    return str(simple[path] or "")


_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEM = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}


def _quantity(value: str, cpu: bool) -> float:
    if cpu:
        found = _CPU.match(value)
        if not found:
            raise ContainerConfigError(f"bad cpu quantity {value!r}")
        return float(found.group(1)) / (1000 if found.group(2) else 1)
    for suffix, factor in _MEM.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def _resource(container: dict[str, Any], ref: dict[str, Any]) -> str:
    kind, _, name = ref["resource"].partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is None:
        return "0"
    cpu = name == "cpu"
    divisor = _quantity(str(ref.get("divisor", "1")), cpu)
    return str(math.ceil(_quantity(str(value), cpu) / divisor))


def container_env(  # noqa: PLR0912 - one branch per env source, as the kubelet has
    pod: dict[str, Any],
    container: dict[str, Any],
    lookup: Lookup,
    services: list[dict[str, Any]],
    kubernetes_service: dict[str, str],
) -> dict[str, str]:
    env: dict[str, str] = dict(kubernetes_service)
    if (pod.get("spec") or {}).get("enableServiceLinks", True):
        env.update(service_links(services))
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref = source["configMapRef"]
            found = lookup("configmaps", ref["name"])
            if found is None and not ref.get("optional"):
                raise ContainerConfigError(f'configmap "{ref["name"]}" not found')
            for key, value in ((found or {}).get("data") or {}).items():
                env[prefix + key] = value
        if "secretRef" in source:
            ref = source["secretRef"]
            found = lookup("secrets", ref["name"])
            if found is None and not ref.get("optional"):
                raise ContainerConfigError(f'secret "{ref["name"]}" not found')
            for key in (found or {}).get("data") or {}:
                env[prefix + key] = _decoded(found or {}, key) or ""
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        source = var["valueFrom"]
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            secret = "secretKeyRef" in source
            ref = source["secretKeyRef" if secret else "configMapKeyRef"]
            found = lookup("secrets" if secret else "configmaps", ref["name"])
            value = None
            if found is not None:
                value = (
                    _decoded(found, ref["key"])
                    if secret
                    else (found.get("data") or {}).get(ref["key"])
                )
            if value is None:
                if ref.get("optional"):
                    continue
                what = "secret" if secret else "configmap"
                missing = (
                    f'{what} "{ref["name"]}" not found'
                    if found is None
                    else (
                        f"couldn't find key {ref['key']} in {what} "
                        f"{pod['metadata']['namespace']}/{ref['name']}"
                    )
                )
                raise ContainerConfigError(missing)
            env[name] = value
        elif "fieldRef" in source:
            env[name] = _field(pod, source["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in source:
            env[name] = _resource(container, source["resourceFieldRef"])
        else:
            raise ContainerConfigError(f"env {name}: unsupported valueFrom {sorted(source)}")
    return env
