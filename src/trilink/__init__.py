"""trilink: a shared missile-warning picture through a hub."""

__version__ = "0.1.0"
