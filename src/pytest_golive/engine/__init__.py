"""engine layer of pytest-golive (see docs/architecture.md)."""
