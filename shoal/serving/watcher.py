"""Hot reload: follow a model alias and swap in each version it is moved to.

A background thread reads the alias every `poll` seconds (one indexed query). When it moved, the
new version is loaded in that thread while requests go on with the old one; then one attribute
assignment swaps it in (atomic in CPython), so no request fails or sees half a model. A version
that fails to load is logged and skipped: the server keeps serving what it has.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from shoal.registry import Registry
from shoal.serving.loaded import LoadedModel

log = logging.getLogger("shoal.serving")


class ModelWatcher:
    def __init__(self, registry: Registry, model: str, alias: str, *, poll: float = 0.5, freeze: bool = False) -> None:
        self.registry = registry
        self.model = model
        self.alias = alias
        self.poll = poll
        self.freeze = freeze  # a server process freezes what it loads (see _freeze); a test process must not
        self.current: LoadedModel = LoadedModel.load(registry, registry.get(model, alias=alias))
        self.swapped_at = time.time()
        if freeze:
            _freeze()
        # A version that did not load: not retried until the alias moves; /health shows it.
        self.failed: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_swap: Callable[[LoadedModel, LoadedModel], None] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="shoal-model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check()
            except Exception:  # a database hiccup must not kill the watcher: try again next poll
                log.exception("checking %s@%s failed; will retry", self.model, self.alias)

    def check(self) -> bool:
        """Swap to the alias's version if it moved; whether a swap happened."""
        target = self.registry.alias_version(self.model, self.alias)
        if target is None or target == self.current.version.version or (self.failed and target == self.failed[0]):
            return False
        try:
            new = LoadedModel.load(self.registry, self.registry.get(self.model, version=target), self.current)
        except Exception as e:
            self.failed = (target, f"{type(e).__name__}: {e}")
            log.error("version %s of %s did not load (%s); still serving version %s",
                      target, self.model, e, self.current.version.version)
            return False
        old, self.current = self.current, new
        if self.freeze:
            _freeze()
        self.failed = None
        self.swapped_at = time.time()
        log.warning("%s@%s: now serving version %s (was %s), loaded in %.0f ms", self.model, self.alias,
                    target, old.version.version, new.load_seconds * 1000)
        if self.on_swap is not None:
            self.on_swap(old, new)
        return True


def _freeze() -> None:
    """Move what is loaded (the model, the embedded store's rows) out of the collector's reach.

    The embedded online store holds millions of small objects; a full collection walking them
    takes tens of milliseconds, which would land on some request's latency. Frozen objects are
    still freed by reference counting when a swapped-out version is dropped.
    """
    gc.freeze()
