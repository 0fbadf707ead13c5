"""Intake of submissions: a submission is hostile until read.

``list_submissions(root)`` finds the submissions directly under ROOT: each sub-folder or ``.zip``
file (any case) is one student, whose id is the folder name or the zip name without ``.zip``.
``open_submission(source)`` yields a folder to grade: a folder submission itself, or a private
temporary folder into which a zip was extracted under the limits of ``ZipLimits``, and which is
removed on exit whatever happens.

A zip is checked whole before anything is written: every entry's name (no ``..``, no absolute
path or drive letter, no control characters, no over-long names, no duplicates), its type
(symbolic links and special files are skipped with a note, never created), encryption, compression
method and declared sizes (entry count, per-entry size, total size, compression ratio). Extraction
then counts the bytes actually produced, in chunks, so a header that lies about its sizes cannot
make it write more than the caps. Every refusal is a SubmissionError naming the zip and the entry.

Folder submissions are not copied: the reader (grader.reading) refuses links and special files
itself, so nothing is followed out of the folder.
"""
import errno
import os
import re
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import GraderError, SubmissionError

KINDS = ("folder", "zip", "link")
_KIND_PRIORITY = {"folder": 0, "zip": 1, "link": 2}  # who keeps the bare id when ids collide

MiB = 1024 * 1024
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, exactly


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what extracting one submission zip may produce; over a cap, the zip is refused.

    A complete hand-in is ten output CSVs of at most a few hundred values (under 20 KB each), plus
    perhaps the student's code, a notebook and a PDF report. The caps leave room for all of that
    many times over while bounding what a hostile or mistaken zip costs the grader.
    """

    max_total_bytes: int = 50 * MiB  # uncompressed, all entries together
    max_entry_bytes: int = 20 * MiB  # uncompressed, any one entry (a large notebook or PDF fits)
    max_entries: int = 2000  # central-directory records, folders and skipped entries included
    max_archive_bytes: int = 64 * MiB  # the .zip file itself
    # Deflate reaches 1032:1 at most; text CSVs compress 3-10:1, and even an all-zeros answer file
    # (tens of KB) compresses well under 300:1. The ratio is only judged on entries above
    # ratio_min_bytes, so small, legitimately repetitive files never trip it.
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 * MiB
    max_name_chars: int = 1024  # whole entry name
    max_component_bytes: int = 255  # one path component, UTF-8 (the usual file-system limit)


DEFAULT_LIMITS = ZipLimits()
_CHUNK = 64 * 1024
_ACCEPTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd",
                 99: "AES encryption"}


@dataclass(frozen=True)
class SubmissionSource:
    """One submission found on disk.

    ``id`` is what results and the gradebook call the student; ``path`` the folder or zip;
    ``kind`` is ``folder``, ``zip``, or ``link`` (a symbolic link found directly under ROOT: never
    followed, reported as a submission that cannot be read).
    """

    id: str
    path: Path
    kind: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    @classmethod
    def from_path(cls, path):
        """The submission at a path someone named explicitly (``cnngrade check SUBMISSION``).

        Unlike ``list_submissions``, a link here is followed: the person running the grader chose
        it. The id comes from the name as given; ``path`` is the resolved target. A folder is a
        folder submission; any regular file is treated as a zip (opening says if it is not one).
        """
        given = Path(path)
        try:
            info = os.stat(given)
        except FileNotFoundError:
            raise SubmissionError("no such file or folder", path=given) from None
        except OSError as e:
            raise SubmissionError(f"cannot read: {e.strerror}", path=given) from None
        name = given.name or Path(os.path.abspath(given)).name
        resolved = Path(os.path.realpath(given))
        if stat.S_ISDIR(info.st_mode):
            return cls(_clean_id(name), resolved, "folder")
        if stat.S_ISREG(info.st_mode):
            return cls(_clean_id(_strip_zip(name)), resolved, "zip")
        raise SubmissionError("is neither a folder nor a zip file", path=given)


class SubmissionList(list):
    """The submissions under ROOT, in id order; ``ignored`` lists the loose files that are not
    submissions (a stray CSV or PDF), for the batch to mention. Hidden entries and ``__MACOSX``
    are skipped silently."""

    def __init__(self, sources=(), ignored=()):
        super().__init__(sources)
        self.ignored = list(ignored)


def list_submissions(root):
    """Every submission directly under ``root``, sorted by id; see SubmissionList.

    - A sub-folder is a ``folder`` submission, id = its name; a regular file ending in ``.zip``
      (any case) is a ``zip`` submission, id = its name without the extension.
    - A symbolic link is never followed: a link to a folder, a link named ``*.zip`` or a dangling
      link is a ``link`` submission (opening it raises SubmissionError, so the student appears in
      the results with the reason); a link to any other file is ignored like a loose file.
    - Names starting with ``.`` and ``__MACOSX`` are skipped; any other entry (a loose file, a
      FIFO) goes into ``ignored``.
    - Ids are made printable: bytes that are not UTF-8 and control characters become U+FFFD.
    - Duplicate ids, compared case-insensitively (feedback pages are files named by id, and
      ``e01.html`` and ``E01.html`` are one file on macOS and Windows): a folder keeps the bare
      id before a zip, a zip before a link, and otherwise the smaller name wins; each other
      submission's id is its full entry name (``e01`` folder and ``e01.zip`` give ids ``e01`` and
      ``e01.zip``), with ``~2``, ``~3``... appended if even that is taken.
    - Sorted by id, case-insensitively, then by the exact id: deterministic across runs.

    Raises GraderError if ``root`` is missing, not a folder or unreadable.
    """
    root = Path(root)
    try:
        with os.scandir(root) as it:
            names = [entry.name for entry in it]
    except FileNotFoundError:
        raise GraderError("no such folder", path=root) from None
    except NotADirectoryError:
        raise GraderError("is not a folder; give the folder that holds the submissions",
                          path=root) from None
    except OSError as e:
        raise GraderError(f"cannot read the submissions folder: {e.strerror}", path=root) from None

    found, ignored = [], []  # found: (bare id, entry name, path, kind)
    for name in names:
        if name.startswith(".") or name == "__MACOSX":
            continue
        path = root / name
        try:
            mode = os.lstat(path).st_mode
        except OSError:  # vanished while listing
            ignored.append(path)
            continue
        zip_name = name.lower().endswith(".zip")
        if stat.S_ISLNK(mode):
            try:  # look at what the link points to, to classify it; never read through it
                to_folder = stat.S_ISDIR(os.stat(path).st_mode)
                dangling = False
            except OSError:
                to_folder, dangling = False, True
            if zip_name or to_folder or dangling:
                found.append((_strip_zip(name), name, path, "link"))
            else:
                ignored.append(path)
        elif stat.S_ISDIR(mode):
            found.append((name, name, path, "folder"))
        elif stat.S_ISREG(mode) and zip_name:
            found.append((_strip_zip(name), name, path, "zip"))
        else:
            ignored.append(path)

    sources = [SubmissionSource(id_, path, kind) for id_, path, kind in _assign_ids(found)]
    sources.sort(key=lambda s: (s.id.casefold(), s.id))
    ignored.sort(key=lambda p: (p.name.casefold(), p.name))
    return SubmissionList(sources, ignored)


def _assign_ids(found):
    """(id, path, kind) for each found entry, ids unique ignoring case (see list_submissions)."""
    ordered = sorted(found, key=lambda f: (_KIND_PRIORITY[f[3]], f[1]))
    taken, ids = set(), {}
    for i, (bare, _name, _path, _kind) in enumerate(ordered):  # first pass: bare ids
        candidate = _clean_id(bare)
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            ids[i] = candidate
    for i, (_bare, name, _path, _kind) in enumerate(ordered):  # second pass: the others
        if i in ids:
            continue
        candidate, n = _clean_id(name), 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{_clean_id(name)}~{n}"
        taken.add(candidate.casefold())
        ids[i] = candidate
    return [(ids[i], path, kind) for i, (_b, _n, path, kind) in enumerate(ordered)]


def _strip_zip(name):
    return name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else name


def _clean_id(name):
    """``name`` made printable: undecodable bytes (surrogate escapes) and control characters
    become U+FFFD, so that ids survive JSON, CSV and terminals."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub("\ufffd", text)


@contextmanager
def open_submission(source, tmp_root=None, *, limits=None, notes=None):
    """Yield a folder (Path) holding ``source``'s files, ready to grade.

    A folder submission is yielded as it is. A zip is extracted into a new private temporary
    folder (``tempfile.mkdtemp`` under ``tmp_root``, default the system's), removed on exit even
    when extraction or grading raises. ``limits`` (ZipLimits) bounds the extraction. If ``notes``
    is a list, remarks about the zip that do not stop grading (a skipped symbolic link, names
    that were not UTF-8) are appended to it.

    Raises SubmissionError for a link, a folder or zip that is gone, a file that is not a zip, a
    corrupt zip, and any zip that breaks a rule (see the module docstring); GraderError if the
    temporary folder cannot be made or written (the grader's problem, not the student's).
    """
    if source.kind == "link":
        raise SubmissionError("is a symbolic link, which is not followed; put the folder or zip "
                              "itself in the submissions folder", path=source.path)
    if source.kind == "folder":
        _check_folder(source.path)
        yield Path(source.path)
        return
    limits = limits or DEFAULT_LIMITS
    notes = notes if notes is not None else []
    try:
        tmp = Path(tempfile.mkdtemp(prefix="cnngrade-", dir=tmp_root))
    except OSError as e:
        raise GraderError(f"cannot create a temporary folder: {e.strerror}",
                          path=tmp_root) from None
    try:
        extract_zip(source.path, tmp, limits, notes)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_folder(path):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise SubmissionError("no longer exists", path=path) from None
    except OSError as e:
        raise SubmissionError(f"cannot read: {e.strerror}", path=path) from None
    if stat.S_ISLNK(mode):
        raise SubmissionError("is a symbolic link, which is not followed", path=path)
    if not stat.S_ISDIR(mode):
        raise SubmissionError("is not a folder", path=path)


def extract_zip(zip_path, dest, limits=DEFAULT_LIMITS, notes=None):
    """Extract the zip at ``zip_path`` into the existing, empty folder ``dest``, safely.

    Every entry is checked before anything is written; see the module docstring. Returns the
    number of files written. ``notes``, if a list, receives remarks that do not stop grading.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    notes = notes if notes is not None else []
    with _open_archive(zip_path, limits) as archive:
        head = archive.read(512)
        archive.seek(0)
        _check_entry_count(archive, zip_path, limits)
        try:
            zf = zipfile.ZipFile(archive)
        except UnicodeDecodeError:  # a ValueError: before it
            raise SubmissionError("corrupt zip: an entry name is marked as UTF-8 but is not "
                                  "valid UTF-8", path=zip_path) from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as e:
            raise _unreadable(zip_path, head, e) from None
        with zf:
            plan = _plan(zf, zip_path, limits, notes)
            return _write(zf, plan, zip_path, dest, limits)


@contextmanager
def _open_archive(zip_path, limits):
    """The zip file opened for reading: a regular file (no link, no FIFO to block on) under the
    archive size cap."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(zip_path, flags)
    except FileNotFoundError:
        raise SubmissionError("no longer exists", path=zip_path) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SubmissionError("is a symbolic link, which is not followed",
                                  path=zip_path) from None
        raise SubmissionError(f"cannot read: {e.strerror}", path=zip_path) from None
    with os.fdopen(fd, "rb") as archive:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError("is not a regular file", path=zip_path)
        if info.st_size > limits.max_archive_bytes:
            raise SubmissionError(f"the zip is {_size(info.st_size)}, more than the "
                                  f"{_size(limits.max_archive_bytes)} allowed; hand in only the "
                                  "output files (and your code)", path=zip_path)
        yield archive


def _check_entry_count(archive, zip_path, limits):
    """Refuse before zipfile parses it a central directory declaring too many entries (parsing
    a million records takes seconds)."""
    count = _declared_entry_count(archive)
    archive.seek(0)
    if count is not None and count > limits.max_entries:
        raise SubmissionError(f"the zip holds {count:,} entries, more than the "
                              f"{limits.max_entries:,} allowed", path=zip_path)


def _declared_entry_count(archive):
    """The entry count in the end-of-central-directory record (zip64 if present), or None."""
    size = archive.seek(0, os.SEEK_END)
    tail_len = min(size, 22 + 65535 + 20)
    archive.seek(size - tail_len)
    tail = archive.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    locator = at - 20
    if locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
        # zipfile reads the zip64 record just before the locator; so do we.
        record_at = size - tail_len + locator - 56
        if record_at >= 0:
            archive.seek(record_at)
            record = archive.read(56)
            if record[:4] == b"PK\x06\x06":
                count = struct.unpack("<Q", record[32:40])[0]  # 0xFFFF above means "see here"
    return count


_MAGIC = [(b"Rar!\x1a\x07", "a RAR archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
          (b"\x1f\x8b", "a gzip file (.tar.gz?)"), (b"BZh", "a bzip2 file"),
          (b"\xfd7zXZ\x00", "an xz file"), (b"%PDF", "a PDF document"),
          (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document")]


def _unreadable(zip_path, head, error):
    """The SubmissionError for a file zipfile cannot open: not a zip at all, or a corrupt one."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        reason = str(error)
        if "not a zip file" in reason:
            reason = "its table of contents (the end of the file) is missing; truncated by an " \
                     "interrupted upload or copy?"
        return SubmissionError(f"corrupt zip: {reason}", path=zip_path)
    if not head:
        return SubmissionError("not a zip archive: the file is empty", path=zip_path)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return SubmissionError(f"not a zip archive: it is {what}; hand in a .zip",
                                   path=zip_path)
    if head[257:262] == b"ustar":
        return SubmissionError("not a zip archive: it is a tar archive; hand in a .zip",
                               path=zip_path)
    return SubmissionError("not a zip archive", path=zip_path)


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple  # path components under the destination, checked
    shown: str  # the entry's name for messages


def _plan(zf, zip_path, limits, notes):
    """The file entries to write (``_Entry``) and the folders to make, after checking every entry
    of the zip; raises SubmissionError at the first rule broken."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise SubmissionError(f"the zip holds {len(infos):,} entries, more than the "
                              f"{limits.max_entries:,} allowed", path=zip_path)
    files, folders, keys = [], [], {}
    total = 0
    legacy_names = 0
    for info in infos:
        name, legacy = _entry_name(info)
        legacy_names += legacy
        shown = _shown(name)

        def refuse(reason):
            return SubmissionError(f"entry {shown}: {reason}", path=zip_path)

        parts, is_folder = _safe_parts(name, refuse, limits)
        if not parts or "__MACOSX" in parts or parts[-1].startswith("._"):
            continue  # the archive's root, or macOS metadata (resource forks), never content
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if file_type == stat.S_IFLNK:
            notes.append(f"{zip_path.name}: entry {shown} is a symbolic link; not extracted")
            continue
        if is_folder or file_type == stat.S_IFDIR:
            folders.append(tuple(parts))
            continue
        if file_type not in (0, stat.S_IFREG):
            notes.append(f"{zip_path.name}: entry {shown} is a special file, not a regular one; "
                         "not extracted")
            continue
        if info.flag_bits & 0x1:
            raise refuse("is encrypted (password-protected); hand in a zip without a password")
        if info.compress_type not in _ACCEPTED_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise refuse(f"uses {method} compression, which the grader does not read; make the "
                         "zip with your system's ordinary zip tool (deflate)")
        if info.file_size > limits.max_entry_bytes:
            raise refuse(f"is {_size(info.file_size)} uncompressed, more than the "
                         f"{_size(limits.max_entry_bytes)} allowed for one file")
        if (info.file_size > limits.ratio_min_bytes
                and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
            raise refuse(f"expands from {_size(info.compress_size)} to "
                         f"{_size(info.file_size)} (more than {limits.max_ratio:g} to 1): "
                         "refused as a zip bomb")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise refuse(f"brings the zip's uncompressed size over the "
                         f"{_size(limits.max_total_bytes)} allowed")
        key = tuple(p.casefold() for p in parts)
        if key in keys:
            raise refuse(f"appears twice (as {keys[key]} too, names compared ignoring case); "
                         "which one to grade is ambiguous")
        keys[key] = shown
        files.append(_Entry(info, tuple(parts), shown))
    # A name used both as a file and as a folder cannot be extracted.
    for parts, shown in [(e.parts, e.shown) for e in files] + [(f, None) for f in folders]:
        key = tuple(p.casefold() for p in parts)
        for i in range(1, len(key) + (shown is None)):
            if key[:i] in keys:
                user = shown or _shown("/".join(parts) + "/")
                raise SubmissionError(f"entry {keys[key[:i]]} is a file, but entry {user} "
                                      "uses it as a folder", path=zip_path)
    if legacy_names:
        notes.append(f"{zip_path.name}: {legacy_names} entry name(s) are neither marked nor "
                     "valid UTF-8; read in the zip standard's legacy code page (cp437)")
    return files, folders


def _entry_name(info):
    """The entry's name as the student meant it, NFC-normalised, and whether it fell back to the
    legacy code page.

    zipfile decodes names without the UTF-8 flag as cp437, but macOS, Linux and 7-Zip often write
    UTF-8 without setting the flag: undo cp437 (it maps all 256 bytes) and try UTF-8 first.
    ``orig_filename`` keeps any NUL byte that zipfile would silently cut the name at.
    """
    name, legacy = info.orig_filename, False
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            legacy = True
    return unicodedata.normalize("NFC", name), legacy


def _shown(name, limit=80):
    """A name for a message: quoted, control characters escaped, long names shortened."""
    if len(name) > limit:
        name = name[:limit - 3] + "..."
    return repr(name)


_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_parts(name, refuse, limits):
    """The path components of an entry name and whether it names a folder; raises what
    ``refuse(reason)`` returns for a name that could land outside the destination or cannot be
    written faithfully."""
    if not name:
        raise refuse("has an empty name")
    if len(name) > limits.max_name_chars:
        raise refuse(f"the name is {len(name):,} characters long, more than the "
                     f"{limits.max_name_chars:,} allowed")
    control = _CONTROL.search(name)
    if control:
        raise refuse(f"the name contains the control character U+{ord(control.group()):04X}")
    name = name.replace("\\", "/")  # Windows tools sometimes write backslash separators
    if name.startswith("/"):
        raise refuse("is an absolute path; entries must stay inside the submission")
    if _DRIVE.match(name):
        raise refuse("starts with a drive letter; entries must stay inside the submission")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise refuse("contains '..'; entries must stay inside the submission")
    for part in parts:
        if len(part.encode("utf-8", "surrogatepass")) > limits.max_component_bytes:
            raise refuse(f"a component of the name is longer than "
                         f"{limits.max_component_bytes} bytes")
    return parts, name.endswith("/")


def _write(zf, plan, zip_path, dest, limits):
    """Write the planned files and folders under ``dest``, counting the bytes actually produced."""
    files, folders = plan
    root = os.path.abspath(dest)
    made = {root}

    def make_folder(path, entry):
        if path in made:
            return
        make_folder(os.path.dirname(path), entry)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise SubmissionError(f"entry {entry} needs a folder where a file is",
                                      path=zip_path) from None
        except OSError as e:
            raise _write_error(e, zip_path, entry) from None
        made.add(path)

    def target(parts, entry):
        path = os.path.join(root, *parts)
        if os.path.commonpath([root, os.path.normpath(path)]) != root:  # checked names: never
            raise SubmissionError(f"entry {entry} would land outside the submission",
                                  path=zip_path)
        return path

    for parts in folders:
        make_folder(target(parts, _shown("/".join(parts))), _shown("/".join(parts)))
    budget = limits.max_total_bytes
    for entry in files:
        path = target(entry.parts, entry.shown)
        make_folder(os.path.dirname(path), entry.shown)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as e:
            raise _write_error(e, zip_path, entry.shown) from None
        with os.fdopen(fd, "wb") as out:
            budget -= _copy_entry(zf, entry, out, zip_path, limits, budget)
    return len(files)


def _copy_entry(zf, entry, out, zip_path, limits, budget):
    """Decompress ``entry`` into ``out`` in chunks, refusing as soon as the bytes produced pass
    its declared size, the per-entry cap or the remaining total ``budget``. Returns the count."""
    declared = entry.info.file_size
    written = 0
    try:
        with zf.open(entry.info) as src:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > declared:
                    raise SubmissionError(f"entry {entry.shown}: expands beyond the "
                                          f"{_size(declared)} its header declares: a forged zip",
                                          path=zip_path)
                if written > limits.max_entry_bytes or written > budget:
                    raise SubmissionError(f"entry {entry.shown}: expands beyond the size "
                                          "allowed: refused as a zip bomb", path=zip_path)
                try:
                    out.write(chunk)
                except OSError as e:
                    raise _write_error(e, zip_path, entry.shown) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error,
            NotImplementedError, RuntimeError, OSError) as e:
        detail = str(e) or type(e).__name__
        if isinstance(e, EOFError):
            detail = "the compressed data ends early (truncated?)"
        raise SubmissionError(f"corrupt zip: entry {entry.shown}: {detail}",
                              path=zip_path) from None
    return written


def _write_error(error, zip_path, entry):
    """A failed write: the student's doing if the name is unwritable, otherwise the grader's
    (a full disk must stop the batch, not zero a student)."""
    if error.errno in (errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL):
        return SubmissionError(f"entry {entry}: cannot be written here ({error.strerror})",
                               path=zip_path)
    return GraderError(f"cannot write entry {entry} to the temporary folder: {error.strerror}",
                       path=zip_path)


def _size(n):
    if n >= MiB:
        return f"{n / MiB:,.1f} MB"
    if n >= 1024:
        return f"{n / 1024:,.1f} KB"
    return f"{n:,} bytes"
