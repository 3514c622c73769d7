"""Errors of the model registry: each names the model, version or alias."""

from __future__ import annotations

from shoal.errors import Conflict, InvalidInput, NotFound


class ModelNotFound(NotFound):
    code = "model_not_found"


class ReleaseRefused(Conflict):
    """The version cannot serve (its artifact does not load): the alias did not move."""

    code = "release_refused"


class RegistryInputError(InvalidInput):
    code = "registry_input_error"
