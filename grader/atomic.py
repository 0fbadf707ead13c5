"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes files readable by their owner alone; reports are meant to be shared like any file.
_FILE_MODE = 0o666 & ~_current_umask()


@contextmanager
def atomic_writer(path, mode="wb", durable=False, **open_args):
    """A file object whose contents replace ``path`` only when the block ends without error.

    The rename alone survives the grader being killed. ``durable`` also survives a power loss:
    the file's data is on disk before the rename (fsync), and the rename itself once the folder
    is synced; without it, a crash shortly after could leave an empty file under the new name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _sync_folder(path.parent)


def _sync_folder(folder):
    """fsync a folder, so that a rename in it is on disk (POSIX; Windows cannot open folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the file itself is synced
        pass
    finally:
        os.close(fd)


def atomic_text_writer(path, durable=False):
    return atomic_writer(path, "w", durable=durable, encoding="utf-8", newline="\n")


def write_bytes_atomic(path, data, durable=False):
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    with atomic_writer(path, durable=durable) as f:
        f.write(data)


def write_text_atomic(path, text, durable=False):
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)
