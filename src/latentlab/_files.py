"""Atomic file writes: nothing the user had is lost if we die mid-write."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process's umask, read without changing it where Linux's ``/proc/self/status`` shows it.

    Elsewhere it is read by setting and restoring it; the value set meanwhile is
    0o077, so a file another thread creates in that instant gets fewer
    permissions, never more.

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permissions an ordinary ``open(path, "w")`` would give (0644 under umask 022; mkstemp alone gives 0600)."""
    return 0o666 & ~current_umask()


def folder_mode() -> int:
    """Permissions an ordinary ``os.mkdir`` would give (0755 under umask 022; mkdtemp alone gives 0700)."""
    return 0o777 & ~current_umask()


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
            os.fchmod(fh.fileno(), file_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)  # make the rename itself durable


def remove_stale_temporaries(path: str | os.PathLike) -> int:
    """Delete temporary files a killed :func:`atomic_write_bytes` left beside ``path``; returns how many.

    Only names exactly of the form ``mkstemp`` gives (``.NAME.`` + random
    letters, digits or ``_`` + ``.tmp``) that are plain files of this user's are removed.
    """
    path = Path(path)
    n = 0
    pattern = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]+\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return 0
    for name in filter(pattern.fullmatch, names):  # stat only what is named like a temporary
        tmp = path.parent / name
        try:
            st = os.lstat(tmp)
            if stat.S_ISREG(st.st_mode) and _mine(st):
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


# The save protocol. ``atomic_folder`` writes the new folder as ``.NAME.new-*`` beside ``NAME`` and puts
# MARKER in it first: a small JSON naming the target, the folder itself, and the writing process. Recovery
# touches a sibling only when such a marker, owned by this user, proves it is a leftover of this protocol
# for this very target, written by a process that is gone; anything else beside ``NAME`` is left alone.
MARKER = ".latentlab-save"
PREVIOUS = ".latentlab-previous"  # the old folder, parked inside the marked new one (fallback swap only)
_PROTOCOL = "latentlab-atomic-folder"
_MARKER_LIMIT = 4096


def _write_marker(folder: Path, target: str) -> None:
    doc = {"protocol": _PROTOCOL, "version": 1, "target": target, "temp": folder.name, "pid": os.getpid(),
           "host": socket.gethostname()}
    data = json.dumps(doc).encode()
    fd = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), file_mode())
    try:
        os.write(fd, data)  # one write: a kill leaves no marker, an empty one, or a whole one
        os.fsync(fd)
    finally:
        os.close(fd)


def _own_dir(p: Path) -> bool:
    """``p`` is a real folder (not a link) owned by this user."""
    try:
        st = os.lstat(p)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and _mine(st)


def _mine(st: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or st.st_uid == os.geteuid()


def _read_marker(folder: Path, target: str) -> dict | None:
    """The marker of ``folder`` when it is a valid one of this user's for ``target``, else None."""
    file = folder / MARKER
    try:
        st = os.lstat(file)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MARKER_LIMIT:
            return None
        if not _mine(st):
            return None
        doc = json.loads(file.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("protocol") != _PROTOCOL or doc.get("target") != target:
        return None
    temp = doc.get("temp")
    if not isinstance(temp, str) or not temp.startswith(f".{target}.new-") or "/" in temp:
        return None
    return doc


def _writer_alive(doc: dict) -> bool:
    """Whether the process that wrote the marker may still be saving (then its folders are not leftovers)."""
    pid = doc.get("pid")
    if doc.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return True  # another machine, or unknown: it cannot be proven finished
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C there: only this process is known to be alive
        return pid == os.getpid()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, under another user
        return True
    return True


def _holds_nothing(folder: Path) -> bool:
    """An empty folder, or one holding only an empty marker (a save killed as it began): nothing to lose."""
    try:
        names = os.listdir(folder)
        return names == [] or (names == [MARKER] and os.lstat(folder / MARKER).st_size == 0)
    except OSError:
        return False


def _leftovers(path: Path) -> list[Path]:
    """The siblings named like this protocol's temporaries for ``path`` (to be proven its own before use)."""
    prefix = f".{path.name}.new-"
    try:
        return sorted(path.parent / n for n in os.listdir(path.parent) if n.startswith(prefix))
    except OSError:
        return []


def _proof(leftover: Path, path: Path) -> dict | None:
    """The marker proving ``leftover`` a temporary of a save to ``path`` (ours, naming both), or None."""
    doc = _read_marker(leftover, path.name) if _own_dir(leftover) else None
    return doc if doc is not None and doc["temp"] == leftover.name else None


def interrupted_save(path: str | os.PathLike) -> Path | None:
    """The previous folder that a save killed between the two renames of the fallback swap parked, if any.

    Read-only: :func:`load <latentlab.load>` names it in its error; the next
    save to ``path`` puts it back before writing.
    """
    path = Path(path)
    if path.exists() or not path.parent.is_dir():
        return None
    for leftover in _leftovers(path):
        if _proof(leftover, path) is not None and _own_dir(leftover / PREVIOUS):
            return leftover / PREVIOUS
    return None


def interrupted_save_hint(path: str | os.PathLike) -> str:
    """A sentence for the error about a missing ``path``: where a killed save parked its previous folder, or ''."""
    previous = interrupted_save(path)
    if previous is None:
        return ""
    return (f" A save to it was killed midway and parked the folder it replaced in {previous}: move that folder "
            f"to {path} to get it back.")


def recover_folder(path: str | os.PathLike) -> None:
    """Finish what a killed :func:`atomic_folder` left at ``path``, touching only what it can prove is its own.

    - a sibling ``.NAME.new-*`` is removed only when its marker (owned by this
      user, naming ``NAME`` and that very folder) shows it is a temporary of a
      save whose process is gone, or when it is empty; when ``NAME`` is missing
      and it holds the parked previous folder, that folder is put back first;
    - inside ``NAME``, a marker left by a save killed just after its swap names
      the swapped-out old folder (removed) and may leave a parked previous one
      (removed); then the marker itself goes.

    Anything else, such as a ``.NAME.old-*`` or a ``.NAME.new-*`` of another
    user or without a valid marker, is left alone.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return
    if _own_dir(path):
        doc = _read_marker(path, path.name)
        if doc is not None and not _writer_alive(doc):
            swapped_out = path.parent / doc["temp"]
            if _own_dir(swapped_out):
                shutil.rmtree(swapped_out, ignore_errors=True)
            if _own_dir(path / PREVIOUS):
                shutil.rmtree(path / PREVIOUS, ignore_errors=True)
            _unlink(path / MARKER)
    for leftover in _leftovers(path):
        if not _own_dir(leftover):
            continue
        doc = _proof(leftover, path)
        if doc is None:
            if _holds_nothing(leftover):
                _unlink(leftover / MARKER)
                _rmdir(leftover)
            continue
        if _writer_alive(doc):
            continue
        if not path.exists() and _own_dir(leftover / PREVIOUS):
            os.rename(leftover / PREVIOUS, path)
        _remove_marked(leftover)


def _remove_marked(folder: Path) -> None:
    """Delete a marked temporary folder, its marker last: a kill midway leaves it still provably a leftover."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name != MARKER:
            p = folder / name
            if _own_dir(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                _unlink(p)
    _unlink(folder / MARKER)
    _rmdir(folder)


def _unlink(p: Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def _rmdir(p: Path) -> None:
    try:
        os.rmdir(p)
    except OSError:
        pass


def atomic_folder(path: str | os.PathLike, write, owned: set[str]) -> Path:
    """Replace folder ``path`` by one that ``write(tmp_folder)`` fills, in one step.

    The new folder is written beside ``path`` (as ``.NAME.new-*``, holding the
    protocol's marker, with the permissions of the user's umask); the entries of
    the old one that ``write`` does not own (names not in ``owned``: a
    checkpoint, figures, the user's own files) are carried over as hard links
    (or copies); then the two folders are swapped with
    ``renameat2(RENAME_EXCHANGE)``, so at every moment ``path`` holds the
    complete old folder or the complete new one, and the old one is deleted.
    Where the swap is unavailable, the old folder is parked inside the new one
    (``PREVIOUS``) before the new one is moved in, and a later save puts it
    back after a kill. Leftovers of killed saves are cleared first
    (:func:`recover_folder`). The marker is removed once the folder is in
    place; one left by a kill is a hidden file that loading ignores and the
    next save removes.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder; save the model to a folder path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.new-", dir=path.parent))
    try:
        _write_marker(tmp, path.name)
        os.chmod(tmp, folder_mode())
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
            shutil.rmtree(tmp)  # now the old folder; the marker in ``path`` names it until it is gone
        else:
            os.rename(path, tmp / PREVIOUS)
            os.rename(tmp, path)
            shutil.rmtree(path / PREVIOUS)
    except BaseException:
        if not path.exists() and _own_dir(tmp / PREVIOUS):
            os.rename(tmp / PREVIOUS, path)  # the fallback swap failed halfway: the old folder goes back
        _remove_marked(tmp)
        raise
    os.unlink(path / MARKER)
    _fsync_dir(path.parent)
    return path


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)

