"""The model server: hot-reloading model versions behind `/predict` and `/invocations`."""

from shoal.serving.app import create_app
from shoal.serving.loaded import LoadedModel
from shoal.serving.watcher import ModelWatcher

__all__ = ["LoadedModel", "ModelWatcher", "create_app"]
