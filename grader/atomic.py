"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
import itertools
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
_CREATE_NEW = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_BINARY", 0))
_TEMPORARY_NUMBERS = itertools.count()


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
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    The path of every feedback page of a batch, so lean: the temporary file, named after this
    process and a counter, is created with its mode in one call and written with os.write (four
    system calls instead of about eight); the folder is made only when it is missing. ``durable``
    (results.json, the gradebook) takes atomic_writer's fsyncs instead.
    """
    if durable:
        with atomic_writer(path, durable=True) as f:
            f.write(data)
        return
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_TEMPORARY_NUMBERS)}.tmp")
    try:
        fd = os.open(tmp, _CREATE_NEW, _FILE_MODE)
    except FileNotFoundError:
        Path(folder or ".").mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, _CREATE_NEW, _FILE_MODE)
    except FileExistsError:  # left by a process that had our pid: take a fresh random name
        with atomic_writer(path) as f:
            f.write(data)
        return
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path, text, durable=False):
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)
