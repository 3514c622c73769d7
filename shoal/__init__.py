"""shoal: an open-source machine-learning platform built on a DAG workflow scheduler."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
