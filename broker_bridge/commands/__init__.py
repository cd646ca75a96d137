"""``eventfn`` subcommands that need only ``broker_bridge``."""
