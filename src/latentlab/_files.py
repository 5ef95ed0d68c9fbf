"""Atomic file writes: nothing the user had is lost if we die mid-write."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _default_mode() -> int:
    """Permissions an ordinary ``open(path, "w")`` would give (mkstemp alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    A reader (or a process killed at any moment) sees the old file or the new
    one, never a mix. Killed writers can leave ``.NAME.*.tmp`` files behind;
    :func:`remove_stale_temporaries` clears them.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> atomic_write_bytes(p, b"hello")
    >>> open(p, "rb").read()
    b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), _MODE)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)  # make the rename itself durable


def remove_stale_temporaries(path: str | os.PathLike) -> int:
    """Delete temporary files a killed :func:`atomic_write_bytes` left beside ``path``; returns how many."""
    path = Path(path)
    n = 0
    if path.parent.is_dir():
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            try:
                tmp.unlink()
                n += 1
            except OSError:  # pragma: no cover - another process removed or holds it
                pass
    return n


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_jsonable) + "\n").encode())


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# ------------------------------------------------------------------ folders
RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where it is not available."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):  # not Linux, or an old C library
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


def _fsync_dir(path: Path) -> None:
    try:
        dfd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass


def recover_folder(path: str | os.PathLike) -> None:
    """Finish what a killed :func:`atomic_folder` left: put back a folder moved aside, clear temporaries.

    Only the fallback without ``RENAME_EXCHANGE`` has a moment where ``path``
    is missing (between moving the old folder aside and moving the new one in);
    a kill there leaves ``.NAME.old-*``, which this renames back.
    """
    import shutil

    path = Path(path)
    if not path.parent.is_dir():
        return
    olds = sorted(path.parent.glob(f".{path.name}.old-*"))
    if not path.exists() and olds:
        os.rename(olds[-1], path)
        olds = olds[:-1]
    for stale in [*olds, *path.parent.glob(f".{path.name}.new-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def atomic_folder(path: str | os.PathLike, write, owned: set[str]) -> Path:
    """Replace folder ``path`` by one that ``write(tmp_folder)`` fills, in one step.

    The new folder is written beside ``path``; the entries of the old one
    that ``write`` does not own (names not in ``owned``: a checkpoint, figures,
    the user's own files) are carried over as hard links (or copies); then
    the two folders are swapped with ``renameat2(RENAME_EXCHANGE)``, so at
    every moment ``path`` holds the complete old folder or the complete new
    one, and the old one is deleted. Where the swap is unavailable, the old
    folder is moved aside first and :func:`recover_folder` puts it back after
    a kill. Temporaries left by killed writers are removed first.
    """
    import shutil

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder; save the model to a folder path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.new-", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~os.umask(os.umask(0)))
        if path.is_dir():
            for entry in path.iterdir():
                if entry.name in owned or entry.name.startswith("."):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, tmp / entry.name, symlinks=True, copy_function=_link_or_copy)
                else:
                    _link_or_copy(entry, tmp / entry.name)
        write(tmp)
        _fsync_dir(tmp)
        if not path.exists():
            os.rename(tmp, path)
        elif _exchange(tmp, path):
            shutil.rmtree(tmp)  # now the old folder
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.rmdir(old)
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)
    return path


def _link_or_copy(src, dst) -> None:
    import shutil

    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)

