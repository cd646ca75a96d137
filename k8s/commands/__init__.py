"""``eventfn`` subcommands of the k8s package: ``dev``, ``autoscale``, ``operator``,
``manifests`` (registered as ``eventfn.commands`` entry points in setup.cfg)."""
