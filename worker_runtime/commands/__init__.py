"""``eventfn`` subcommands that load functions (worker, bridge)."""
