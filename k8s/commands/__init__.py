"""``eventfn`` subcommands that run or manage whole deployments (dev)."""
