"""The model server: hot-reloading model versions behind `/predict` and `/invocations`."""

from shoal.serving.app import create_app
from shoal.serving.body import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROWS, Limits
from shoal.serving.loaded import LoadedModel
from shoal.serving.watcher import ModelWatcher

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_ROWS", "Limits", "LoadedModel", "ModelWatcher", "create_app"]
