"""eventfn on Kubernetes: scaling decisions, the autoscaler, the operator, manifests."""

__all__: list[str] = []
