"""Model artifacts under `SHOAL_ARTIFACTS/models/` through fsspec (a local path, s3://, hdfs://...).

A version's artifact is copied to a directory of its own before the version is recorded, so a
failed registration leaves at most an unreferenced directory, never a version without files.
Loading needs local files: a remote artifact is downloaded once into a cache under SHOAL_HOME.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def store_artifact(artifacts_url: str, project: str, model: str, local_dir: Path) -> str:
    """Copy every file of `local_dir` to a new directory under the artifact store; its URL."""
    target = _join(artifacts_url, "models", project, model, uuid.uuid4().hex)
    fs, root = fsspec.core.url_to_fs(target)
    for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        dest = _join(root, *path.relative_to(local_dir).parts)
        fs.makedirs(dest.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(path), dest)
    return target


def local_path(uri: str, cache_dir: Path) -> Path:
    """A local directory holding the artifact at `uri` (the artifact itself when it is local)."""
    fs, root = fsspec.core.url_to_fs(uri)
    if isinstance(fs, LocalFileSystem):
        return Path(root)
    dest = cache_dir / root.strip("/").replace("/", "_")
    if not dest.exists():
        tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
        for remote in fs.find(root):
            local = tmp / remote[len(root):].lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(remote, str(local))
        os.replace(tmp, dest)
    return dest


def digest(uri_or_dir: str | Path) -> str:
    """One sha256 over every file's relative path and bytes: equal digests, equal artifacts."""
    fs, root = fsspec.core.url_to_fs(str(uri_or_dir))
    h = hashlib.sha256()
    for path in sorted(fs.find(root)):
        h.update(path[len(root):].lstrip("/").encode() + b"\0")
        with fs.open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()
