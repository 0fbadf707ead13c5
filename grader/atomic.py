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
def atomic_writer(path, mode="wb", **open_args):
    """A file object whose contents replace ``path`` only when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_text_writer(path):
    return atomic_writer(path, "w", encoding="utf-8", newline="\n")


def write_bytes_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    with atomic_writer(path) as f:
        f.write(data)


def write_text_atomic(path, text):
    write_bytes_atomic(path, text.encode("utf-8"))
