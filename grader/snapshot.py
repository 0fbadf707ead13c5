"""A private copy of a folder submission, made before anything in it is located or read.

A student owns their submission folder and can change it while it is graded: swap
``output_files/`` for a symbolic link to a folder they cannot read themselves, between the moment
the grader lists it and the moment it reads a file. Reads that refuse links only in a path's last
component would then read outside the submission (and a parse error would quote what it found).
So the folder is copied first, walking it through directory handles: every folder and file is
opened relative to its parent's handle, never following a link (``O_NOFOLLOW``), and the grader
then locates and reads only the copy, which nobody else can change.

The copy holds what grader.locate looks at and nothing more: the folders it searches (down to
its depth, without its litter), every entry's name and kind, and the contents of the files it
could grade (an output's name, exactly or misnamed), each up to the largest size reading
accepts. A link becomes a link that leads nowhere a reader could follow (to the copy's own folder
when it pointed to a folder, else to the null device), a FIFO, socket or device an empty FIFO, a
file the grader may not read an empty file it may not read either: reading refuses each exactly
as it would have refused the original. Other files are copied empty; nothing reads them.

Failures to write the copy (a full disk, a file size limit) are the grader's: a GraderError,
never a student's zero.
"""
import errno
import os
import stat
from collections import deque
from pathlib import Path, PurePosixPath

from .errors import GraderError, SubmissionError
from .locate import MAX_DEPTH, MAX_ENTRIES, could_be_graded, is_litter, searched_below
from .reading import byte_cap

MiB = 1024 * 1024
MAX_COPIED_BYTES = 50 * MiB  # contents of output-named files, all together (as a zip's total)
_CHUNK = 64 * 1024
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) \
    | getattr(os, "O_CLOEXEC", 0)
_FILE = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
    | getattr(os, "O_CLOEXEC", 0)


def copy_submission(source, dest, outputs=None, notes=None):
    """Copy the folder submission at ``source`` into the existing, empty, private folder ``dest``.

    ``outputs`` (the spec's OutputSpecs) say which files' contents are copied and how much of
    each; without them every file's contents are, up to MAX_COPIED_BYTES in all. Notes on
    folders that cannot be read are appended to ``notes``. Raises SubmissionError when the
    folder itself cannot be opened (gone, a link, not a folder, unreadable) or holds more than
    grader.locate examines; GraderError when the copy cannot be written.
    """
    source, dest = Path(source), Path(dest)
    if outputs:
        wanted = could_be_graded([o.filename for o in outputs])
        cap = max(byte_cap(o.size) for o in outputs)
    else:
        wanted, cap = (lambda name: True), MAX_COPIED_BYTES
    copier = _Copier(source, wanted, cap, notes if notes is not None else [])
    queue = deque([(copier.open_top(), dest, PurePosixPath(), 0)])
    try:
        while queue:
            handle, target, rel, depth = queue[0]
            try:
                queue.extend(copier.copy_folder(handle, target, rel, depth))
            finally:
                queue.popleft()
                os.close(handle)
    finally:
        for handle, *_ in queue:
            os.close(handle)


class _Copier:
    """The walk's state: what to copy, how much has been, and the notes."""

    def __init__(self, source, wanted, cap, notes):
        self.source, self.wanted, self.cap, self.notes = source, wanted, cap, notes
        self.examined = 0
        self.copied = 0

    def open_top(self):
        try:
            return os.open(self.source, _DIRECTORY)
        except FileNotFoundError:
            raise SubmissionError("no longer exists", path=self.source) from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise SubmissionError("is a symbolic link, which is not followed",
                                      path=self.source) from None
            if e.errno == errno.ENOTDIR:
                raise SubmissionError("is not a folder", path=self.source) from None
            raise SubmissionError(f"cannot be read ({e.strerror}): the grader may not open this "
                                  "folder", path=self.source) from None

    def copy_folder(self, handle, target, rel, depth):
        """Copy the entries of the open folder ``handle`` (``rel`` in the submission) into
        ``target``; return the (handle, target, rel, depth) of the sub-folders to copy next."""
        try:
            with os.scandir(handle) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            self._note_unreadable(rel, e)
            return []
        below = []
        try:
            for entry in entries:
                self._copy_entry(entry, handle, target, rel, depth, below)
        except BaseException:
            for sub, *_ in below:
                os.close(sub)
            raise
        return below

    def _copy_entry(self, entry, handle, target, rel, depth, below):
        """Copy one listed entry; a sub-folder to copy next is appended to ``below``."""
        self.examined += 1
        if self.examined > MAX_ENTRIES:
            raise SubmissionError(
                f"holds more than {MAX_ENTRIES:,} files and folders within {MAX_DEPTH} "
                "levels: not examined; hand in output_files/ and your code only",
                path=self.source, code="parse_error")
        try:  # as grader.locate classifies entries (from the listing, no link followed)
            is_link = entry.is_symlink()
            is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            is_file = not is_link and not is_dir and entry.is_file(follow_symlinks=False)
        except OSError:
            return
        if is_litter(entry.name, is_dir):
            return
        path = target / entry.name
        if is_dir:
            sub = self._folder(handle, entry.name, path, rel / entry.name, depth)
            if sub is not None:
                below.append(sub)
        elif is_link:
            to_folder = _points_to_folder(handle, entry.name)
            self._make(os.symlink, "." if to_folder else os.devnull, path)
        elif is_file:
            self._file(handle, entry.name, path)
        else:
            self._make(os.mkfifo, path, 0o600)

    def _folder(self, handle, name, path, rel, depth):
        self._make(os.mkdir, path, 0o700)
        if not searched_below(name, depth):
            return None
        try:
            sub = os.open(name, _DIRECTORY, dir_fd=handle)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):  # swapped or gone since
                os.rmdir(path)  # it was listed: as if it had never been there
            else:
                self._note_unreadable(rel, e)
            return None
        return sub, path, rel, depth + 1

    def _note_unreadable(self, rel, error):
        where = f"{rel.as_posix()}/" if rel.parts else "the top of the submission"
        self.notes.append(f"{where}: cannot be read ({error.strerror}); not searched")

    def _file(self, handle, name, path):
        if not self.wanted(name):
            self._make(_create, path, 0o600)
            return
        try:
            fd = os.open(name, _FILE, dir_fd=handle)
        except OSError as e:
            if e.errno == errno.ELOOP:  # swapped for a link since it was listed
                self._make(os.symlink, os.devnull, path)
            elif e.errno != errno.ENOENT:  # unreadable: a copy the grader cannot read either
                self._make(_create, path, 0o000)
            return
        with os.fdopen(fd, "rb") as src:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or a device
                self._make(os.mkfifo, path, 0o600)
                return
            data = src.read(self.cap + 1)
        self.copied += len(data)
        if self.copied > MAX_COPIED_BYTES:
            raise SubmissionError(f"its files named like outputs hold more than "
                                  f"{MAX_COPIED_BYTES // MiB} MB: not examined; hand in "
                                  "output_files/ and your code only", path=self.source,
                                  code="parse_error")
        self._make(_create, path, 0o600, data, max(info.st_size, len(data)))

    def _make(self, make, *args):
        """``make(*args)`` in the private copy; a failure there is the grader's, not the
        student's."""
        try:
            make(*args)
        except OSError as e:
            raise GraderError(f"cannot write the private copy of a submission: {e.strerror}",
                              path=self.source.name) from None


def _create(path, mode, data=b"", size=0):
    """A new file at ``path`` holding ``data``, ``size`` bytes long (sparse beyond ``data``:
    reading refuses a file over its size cap by its size alone, never reading past it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if size > len(data):
            os.ftruncate(fd, size)
    finally:
        os.close(fd)


def _points_to_folder(handle, name):
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=handle, follow_symlinks=True).st_mode)
    except OSError:
        return False
