"""The package version, in the core layer so every layer may read it."""

__version__ = "0.1.0"
