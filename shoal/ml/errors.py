"""Errors of the ML library.

    ShoalError
     └── InvalidInput (ValueError)
          └── MLError            bad data, a bad step/param, a model file that fails to load

Every message names the offending column, step or parameter and says how to fix it, because the
ML task types show these messages to the user as the reason a task run failed.
"""

from __future__ import annotations

from typing import Any

from shoal.errors import InvalidInput


class MLError(InvalidInput):
    """Raised when samples, preprocessing steps, training params or model artifacts are wrong."""

    code = "ml_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, **details)
