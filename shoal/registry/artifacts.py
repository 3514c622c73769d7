"""Model artifacts under `SHOAL_ARTIFACTS/models/` through fsspec (a local path, s3://, hdfs://...).

A version's artifact is copied to a directory of its own before the version is recorded, so a
failed registration leaves at most an unreferenced directory, never a version without files.
Loading needs local files: a remote artifact is downloaded once into a cache under SHOAL_HOME.

Next to the files, the copy holds a manifest: the sha256 of every file as registered, after the
bundle loaded. A release checks the artifact against it (hashing a few files) instead of loading
the model again, which would import the ML libraries and take seconds: bytes that are the ones
that loaded still load. An artifact without a manifest (registered by an older shoal) is checked
by loading it.

A version may also hold its evaluation report, `shoal-evaluation.json` (see `evaluation.py`).
Like the manifest it is the registry's own file, not the model's: the manifest and the digests
leave it out, so a retried registration of the same files still finds its version.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

MANIFEST = "shoal-manifest.json"
EVALUATION = "shoal-evaluation.json"
_OWN = (MANIFEST, EVALUATION)  # the registry's files in an artifact; not the model's
_CHUNK = 1 << 20


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def _fs(uri: str) -> tuple[AbstractFileSystem, str]:
    import fsspec  # only where artifacts are touched: `shoal model list` needs none of it

    return fsspec.core.url_to_fs(uri)


def store_artifact(artifacts_url: str, project: str, model: str, local_dir: Path,
                   evaluation: bytes | None = None) -> str:
    """Copy every file of `local_dir` to a new directory under the artifact store (and the
    `evaluation` report, if given), then write its manifest (the hashes of the files as read
    from `local_dir`); the directory's URL."""
    target = _join(artifacts_url, "models", project, model, uuid.uuid4().hex)
    fs, root = _fs(target)
    for path in sorted(p for p in local_dir.rglob("*") if p.is_file() and p.name not in _OWN):
        dest = _join(root, *path.relative_to(local_dir).parts)
        fs.makedirs(dest.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(path), dest)
    if evaluation is not None:
        fs.makedirs(root, exist_ok=True)
        with fs.open(_join(root, EVALUATION), "wb") as f:
            f.write(evaluation)
    # Written last: a copy cut short has no manifest, and is checked by loading (which fails).
    with fs.open(_join(root, MANIFEST), "w") as f:
        json.dump({"format": 1, "sha256": file_digests(local_dir)}, f, indent=1, sort_keys=True)
    return target


def read_evaluation(uri: str) -> bytes | None:
    """The evaluation report stored in the artifact at `uri`, or None when it has none."""
    fs, root = _fs(uri)
    try:
        with fs.open(_join(root, EVALUATION), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def local_path(uri: str, cache_dir: Path) -> Path:
    """A local directory holding the artifact at `uri` (the artifact itself when it is local)."""
    from fsspec.implementations.local import LocalFileSystem

    fs, root = _fs(uri)
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


def file_digests(uri_or_dir: str | Path) -> dict[str, str]:
    """The sha256 of every file (the registry's own files excepted), by path relative to the artifact."""
    fs, root = _fs(str(uri_or_dir))
    out: dict[str, str] = {}
    for path in sorted(fs.find(root)):
        rel = path[len(root):].lstrip("/")
        if rel in _OWN:
            continue
        h = hashlib.sha256()
        with fs.open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        out[rel] = h.hexdigest()
    return out


def digest(uri_or_dir: str | Path) -> str:
    """One sha256 over every file's relative path and bytes: equal digests, equal artifacts."""
    h = hashlib.sha256()
    for rel, file_hash in file_digests(uri_or_dir).items():
        h.update(rel.encode() + b"\0" + file_hash.encode() + b"\0")
    return h.hexdigest()


def damage(directory: Path) -> str | None:
    """How a local artifact differs from its manifest, as "is damaged: ..." ("" when it has no
    manifest to check against), or None when every registered file is there, unchanged."""
    try:
        doc = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return ""
    except (OSError, ValueError) as e:
        return f"is damaged: its manifest {MANIFEST} is unreadable ({e})"
    registered = doc.get("sha256") if isinstance(doc, dict) else None
    if not isinstance(registered, dict):
        return f"is damaged: its manifest {MANIFEST} lists no files"
    now = file_digests(directory)
    missing = sorted(p for p in registered if p not in now)
    changed = sorted(p for p in registered if p in now and now[p] != registered[p])
    if not missing and not changed:
        return None
    parts = [f"{', '.join(missing)} missing" if missing else "", f"{', '.join(changed)} changed" if changed else ""]
    return "is damaged since it was registered: " + "; ".join(p for p in parts if p)
