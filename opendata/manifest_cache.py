"""The manifest as the API reads it: parsed once per change of the file."""

from __future__ import annotations

from pathlib import Path
from threading import Lock
from typing import Any

from opendata.export import MANIFEST, read_manifest

_cache: dict[Path, tuple[int, dict[str, Any]]] = {}
_lock = Lock()


def current_manifest(*, out_dir: Path) -> dict[str, Any]:
    """The manifest in ``out_dir`` (empty when no export ran yet), re-read when it changed."""
    path = (out_dir / MANIFEST).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {"datasets": {}, "files": []}
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    manifest = read_manifest(out_dir=out_dir)
    with _lock:
        _cache[path] = (mtime, manifest)
    return manifest
