"""Publishing a built model folder in one step, so readers never see a half-written one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def new_build_dir(out_dir: Path) -> Path:
    """An empty folder beside `out_dir` (same file system, so the final rename is atomic)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.build-"))
    os.chmod(build_dir, 0o755)  # mkdtemp makes it 0700
    return build_dir


def publish_dir(build_dir: Path, out_dir: Path, is_current: Callable[[Path], bool]) -> None:
    """Rename `build_dir` to `out_dir`, replacing a stale `out_dir`; keep a current one."""
    for path in build_dir.iterdir():
        os.chmod(path, 0o644)  # some writers (safetensors) create files 0600
    if out_dir.exists():
        if is_current(out_dir):
            shutil.rmtree(build_dir, ignore_errors=True)
            return  # a concurrent build finished the same thing first
        # Swap the stale folder out first so that out_dir never holds a mix of old and new files.
        stale = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.stale-"))
        os.replace(out_dir, stale / "old")
        try:
            os.replace(build_dir, out_dir)
        finally:
            shutil.rmtree(stale, ignore_errors=True)
        return
    try:
        os.replace(build_dir, out_dir)
    except OSError:
        if not is_current(out_dir):
            raise
        shutil.rmtree(build_dir, ignore_errors=True)
