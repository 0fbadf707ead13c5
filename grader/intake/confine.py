"""Reading a submission through a handle on its folder, opened once, never following a link.

A student owns their submission folder and can change it while it is graded: swap
``output_files/`` for a symbolic link to a folder they cannot read themselves, between the moment
the grader locates a file and the moment it reads it. A read that refuses a link only in a path's
last component would then read outside the submission (and a parse error would quote what it
found). So, while a submission is graded, its folder is held open (``holding``), and every path
below it is listed (``scandir``), looked at (``lstat``) and opened (``open``) relative to that
handle, one component at a time, each with ``O_NOFOLLOW``: a folder on the way that has become a
link fails to open, whatever it points to.

``holding`` is a context manager: grader.intake's ``open_submission`` holds the submission for
as long as it is graded, and grader.locate and grader.reading go through this module for every
path, so that whatever reads student files inside that block is confined, and code outside it
(the instructor's inputs and expected/) reads paths as usual. A path outside the held folder is
read as usual too.
"""
import contextvars
import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SubmissionError

_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) \
    | getattr(os, "O_CLOEXEC", 0)
# Without dir_fd (Windows) nothing can be held; paths are then read as they are.
_SUPPORTED = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd \
    and os.scandir in os.supports_fd


@dataclass(frozen=True)
class _Held:
    path: str  # absolute, as the grader named it, ending with a separator
    fd: int
    folders: dict = field(default_factory=dict)  # components below -> handle, opened once


_held = contextvars.ContextVar("cnngrade_held_submission", default=None)


@contextmanager
def holding(folder):
    """Hold ``folder`` open for the block; a SubmissionError if it cannot be (gone, a link, not
    a folder, not readable by the grader)."""
    folder = Path(folder)
    if not _SUPPORTED:
        yield
        return
    try:
        fd = os.open(folder, _DIRECTORY)
    except FileNotFoundError:
        raise SubmissionError("no longer exists", path=folder) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SubmissionError("is a symbolic link, which is not followed",
                                  path=folder) from None
        if e.errno == errno.ENOTDIR:
            raise SubmissionError("is not a folder", path=folder) from None
        raise SubmissionError(f"cannot be read ({e.strerror}): the grader may not open this "
                              "folder", path=folder) from None
    held = _Held(os.path.join(os.path.abspath(folder), ""), fd)
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        for handle in held.folders.values():
            os.close(handle)
        os.close(fd)


@contextmanager
def scandir(path):
    """``os.scandir(path)``, through the held handle when ``path`` is below it. Entries' ``path``
    is then only their name: join names to ``path`` instead."""
    below = _below(path)
    if below is None:
        with os.scandir(path) as entries:
            yield entries
        return
    with os.scandir(_folder(*below)) as entries:
        yield entries


def lstat(path):
    """``os.lstat(path)``, through the held handle when ``path`` is below it."""
    below = _below(path)
    if below is None:
        return os.lstat(path)
    held, parts = below
    if not parts:
        return os.fstat(held.fd)
    return os.stat(parts[-1], dir_fd=_folder(held, parts[:-1]), follow_symlinks=False)


def open_file(path, flags):
    """``os.open(path, flags | O_NOFOLLOW)``, through the held handle when ``path`` is below it."""
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    below = _below(path)
    if below is None:
        return os.open(path, flags)
    held, parts = below
    return os.open(parts[-1], flags, dir_fd=_folder(held, parts[:-1]))


def _below(path):
    """(held folder, path components below it) if ``path`` is below the held folder, else None."""
    held = _held.get()
    if held is None:
        return None
    path = os.fspath(path)  # string work, not pathlib: paths are read by the thousand
    if not os.path.isabs(path) or ".." in path or "//" in path:
        path = os.path.abspath(path)
    path = os.path.join(path, "")
    if not path.startswith(held.path):
        return None
    return held, tuple(part for part in path[len(held.path):].split(os.sep) if part)


def _folder(held, parts):
    """The handle on the folder ``parts`` below ``held``: each component opened relative to the
    one before, without following a link, once per submission (a folder swapped afterwards is
    still read through the handle on the folder that was there: the student's own)."""
    fd = held.fd
    for depth in range(1, len(parts) + 1):
        key = parts[:depth]
        if key not in held.folders:
            try:
                held.folders[key] = os.open(key[-1], _DIRECTORY, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise OSError(e.errno, "a folder on its path is a link or not a folder; "
                                           "links are not followed", e.filename) from None
                raise
        fd = held.folders[key]
    return fd
