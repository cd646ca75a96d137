"""Broker transports eventfn adds to kombu (the embedded SQLite broker)."""
