"""The model registry: models, immutable versions, aliases, release history, rollback."""

from shoal.registry.errors import ModelNotFound, RegistryInputError, ReleaseRefused
from shoal.registry.registry import DEFAULT_ALIAS, ModelInfo, ModelVersion, Registry, Release

__all__ = [
    "DEFAULT_ALIAS", "ModelInfo", "ModelNotFound", "ModelVersion", "Registry", "RegistryInputError", "Release",
    "ReleaseRefused",
]
