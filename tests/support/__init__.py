"""Helpers shared by eventfn's tests (importable as ``support.*``)."""
