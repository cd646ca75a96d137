"""The Kubernetes resources eventfn reads and writes, and their REST paths.

Used by every :mod:`k8s.client` verb module; one :class:`Kind` per resource type.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from k8s.render.meta import GROUP, VERSION

__all__ = [
    "DEPLOYMENTS",
    "FUNCTIONS",
    "KINDS",
    "SCALED_OBJECTS",
    "SERVICE_ACCOUNTS",
    "SUBSCRIPTIONS",
    "Kind",
    "kind_of",
]


class Kind(BaseModel):
    """A namespaced resource type: ``group`` ("" for the core group), ``version``,
    ``plural`` and its ``kind`` name."""

    model_config = ConfigDict(frozen=True)

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
        """``/api/v1/namespaces/NS/PLURAL[/NAME[/SUB]]`` or ``/apis/GROUP/VERSION/...``."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        path = f"{root}/namespaces/{namespace}/{self.plural}"
        if name is not None:
            path += f"/{name}"
            if subresource is not None:
                path += f"/{subresource}"
        return path


FUNCTIONS = Kind(group=GROUP, version=VERSION, plural="functions", kind="Function")
SUBSCRIPTIONS = Kind(group=GROUP, version=VERSION, plural="subscriptions", kind="Subscription")
DEPLOYMENTS = Kind(group="apps", version="v1", plural="deployments", kind="Deployment")
SERVICE_ACCOUNTS = Kind(group="", version="v1", plural="serviceaccounts", kind="ServiceAccount")
SCALED_OBJECTS = Kind(
    group="keda.sh", version="v1alpha1", plural="scaledobjects", kind="ScaledObject"
)
TRIGGER_AUTHENTICATIONS = Kind(
    group="keda.sh",
    version="v1alpha1",
    plural="triggerauthentications",
    kind="TriggerAuthentication",
)
KINDS = (
    FUNCTIONS,
    SUBSCRIPTIONS,
    DEPLOYMENTS,
    SERVICE_ACCOUNTS,
    SCALED_OBJECTS,
    TRIGGER_AUTHENTICATIONS,
)


def kind_of(document: dict[str, object]) -> Kind:
    """The :class:`Kind` of a rendered document (by ``apiVersion`` and ``kind``)."""
    for kind in KINDS:
        if kind.api_version == document.get("apiVersion") and kind.kind == document.get("kind"):
            return kind
    raise ValueError(f"unknown resource {document.get('apiVersion')} {document.get('kind')}")
