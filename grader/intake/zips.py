"""Safe extraction of a zip submission into a private folder.

A zip is checked whole before anything is written. The whole zip is refused (a SubmissionError
naming the zip and the entry; the student scores zero) only for what is hostile or unbounded:

- before zipfile parses it, a table of contents (central directory) larger than ``max_entries``
  entries can need, or holding more records than ``max_entries``, whatever its end record says;
- an entry that would land outside the folder: ``..``, an absolute path, a drive letter, a UNC
  path;
- encryption, a compression method other than stored or deflate, a corrupt archive;
- the size caps: entry count, per-entry size, total size, compression ratio, folders created.

An entry whose *name* is merely unusable is skipped, with a note naming it and saying why, and
the rest of the zip is graded: a name with a control character (the macOS ``Icon\r`` file) or
a bidirectional-override character, a name longer than ``max_name_chars`` or with a component
longer than ``max_component_bytes``, a path more than ``max_depth`` components deep, a name that
repeats an earlier entry's (exactly, or ignoring case as macOS and Windows do), or a file where
an earlier entry makes a folder and vice versa. Of two clashing entries the first in the zip is
kept. Symbolic links and special files are skipped with a note too, never created. A skipped
entry is never written, so it can never be graded. Notes are capped per zip (``MAX_ENTRY_NOTES``
individual ones, then one summary), and every name in a note or message is printable: control
and direction-changing characters escaped, bytes that are not UTF-8 replaced.

Extraction then counts the bytes actually produced, in chunks, so a header that lies about its
sizes cannot make it write more than the caps.
"""
import errno
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError, SubmissionError
from grader.intake.ids import decoded


MiB = 1024 * 1024

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, exactly
# Characters that change the direction text is displayed in, so that a name reads as another
# (``e01\u202egpj.csv``): ALM, LRM, RLM, the embeddings and overrides, the isolates.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what extracting one submission zip may produce; over a cap, the zip is refused
    (but an entry over a name limit is only skipped, with a note).

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
    # Name limits: an entry over one of these is skipped with a note, not refused.
    max_name_chars: int = 1024  # whole entry name
    max_component_bytes: int = 255  # one path component, UTF-8 (the usual file-system limit)
    # Path components of an entry, its own name included. A hand-in is 2-5 deep
    # (e0123456g/assignment2/output_files/x.csv); even a zipped virtualenv stays within 16.
    max_depth: int = 16
    max_folders: int = 2000  # folders extraction creates, named by an entry or implied by a path

    @property
    def max_directory_bytes(self):
        """The largest table of contents (central directory) ``max_entries`` entries can need:
        per entry, 46 fixed bytes, a name of ``max_name_chars`` characters of up to 4 bytes
        each in UTF-8, and 1 KB of extra fields and comment (timestamps, zip64 sizes and Unix
        owners take under 100 bytes). A larger one is refused before anything parses it."""
        return self.max_entries * (46 + 4 * self.max_name_chars + 1024)


DEFAULT_LIMITS = ZipLimits()
MAX_ENTRY_NOTES = 20  # notes about skipped entries per zip; further ones are summarised in one
_CHUNK = 64 * 1024
_ACCEPTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd",
                 99: "AES encryption"}


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
        _check_directory(archive, zip_path, limits)
        try:
            zf = zipfile.ZipFile(archive)
        except UnicodeDecodeError:  # a ValueError: before it
            raise SubmissionError("corrupt zip: an entry name is marked as UTF-8 but is not "
                                  "valid UTF-8", path=zip_path) from None
        except NotImplementedError as e:  # a zip format version zipfile does not know
            raise SubmissionError(f"uses a zip feature the grader does not read ({e}); make "
                                  "the zip with your system's ordinary zip tool",
                                  path=zip_path) from None
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


def _check_directory(archive, zip_path, limits):
    """Refuse, before zipfile parses it, a table of contents (central directory) that is too
    big or holds too many records: zipfile reads every record into memory (a million take
    seconds and hundreds of MB) and only then could the entry count be judged.

    The end record's entry count is not trusted: zipfile ignores it and parses records for as
    many bytes as the end record says the directory takes. So that size is capped, and the
    records in it are counted here by the same walk zipfile makes, stopping one past the cap.
    """
    end = _end_record(archive)
    archive.seek(0)
    if end is None:  # zipfile will find no end record either, and say so
        return
    declared, size, start = end
    if declared > limits.max_entries:
        raise SubmissionError(f"the zip holds {declared:,} entries, more than the "
                              f"{limits.max_entries:,} allowed", path=zip_path)
    if size > limits.max_directory_bytes:
        raise SubmissionError(f"the zip's table of contents (central directory) is "
                              f"{_size(size)}, more than the {_size(limits.max_directory_bytes)} "
                              f"that {limits.max_entries:,} entries can need: a forged or "
                              "damaged zip", path=zip_path)
    if start < 0:  # zipfile says "bad offset"
        return
    archive.seek(start)
    data = archive.read(size)
    archive.seek(0)
    count = at = 0
    while at < size and data[at:at + 4] == b"PK\x01\x02" and at + 46 <= len(data):
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, at + 28)
        at += 46 + name_len + extra_len + comment_len
        count += 1
        if count > limits.max_entries:
            raise SubmissionError(f"the zip's table of contents lists more than the "
                                  f"{limits.max_entries:,} entries allowed, though its end "
                                  f"record declares {declared:,}: a forged zip", path=zip_path)


_ZIP64_END = b"PK\x06\x06"


def _end_record(archive):
    """(declared entry count, central directory size, central directory start) exactly as
    zipfile will read them, or None if zipfile will find no end record.

    zipfile's own reader is used where it exists, so that the two can never disagree about
    which bytes are the directory; ``_end_record_data`` is a copy of it (unchanged in CPython
    from 3.10 to the current main branch) for a Python whose zipfile lacks it. The start is
    where zipfile's ``_RealGetContents`` puts it.
    """
    reader = getattr(zipfile, "_EndRecData", None) or _end_record_data
    try:
        record = reader(archive)
    except (OSError, ValueError, EOFError, struct.error, zipfile.BadZipFile):
        return None  # zipfile raises the same when it opens the file: reported as unreadable
    if not record:
        return None
    size, location = record[5], record[9]
    start = location - size - (56 + 20 if record[0] == _ZIP64_END else 0)
    return record[4], size, start


_END = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_ZIP64_RECORD = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record, 56 bytes


def _end_record_data(archive):
    """zipfile's ``_EndRecData``, step for step (its seeks included: a file and a BytesIO fail
    differently on a seek before the start): the end record's nine fields, then its comment and
    its offset; the zip64 record's values in their place if there is one."""
    size = archive.seek(0, os.SEEK_END)
    try:
        archive.seek(-_END.size, os.SEEK_END)
    except OSError:
        return None
    data = archive.read()
    if len(data) == _END.size and data[:4] == b"PK\x05\x06" and data[-2:] == b"\0\0":
        record = [*_END.unpack(data), b"", size - _END.size]
        return _end_record_zip64(archive, -_END.size, record)
    first = max(size - (1 << 16) - _END.size, 0)
    archive.seek(first)
    data = archive.read()
    at = data.rfind(b"PK\x05\x06")
    if at < 0:
        return None
    record = data[at:at + _END.size]
    if len(record) != _END.size:
        return None
    record = list(_END.unpack(record))
    record += [data[at + _END.size:at + _END.size + record[7]], first + at]
    return _end_record_zip64(archive, first + at - size, record)


def _end_record_zip64(archive, offset, record):
    """zipfile's ``_EndRecData64``; ``offset``: the end record's, from the end of the file."""
    try:
        archive.seek(offset - _ZIP64_LOCATOR.size, os.SEEK_END)
    except OSError:
        return record
    data = archive.read(_ZIP64_LOCATOR.size)
    if len(data) != _ZIP64_LOCATOR.size:
        return record
    signature, disk, _offset, disks = _ZIP64_LOCATOR.unpack(data)
    if signature != b"PK\x06\x07":
        return record
    if disk != 0 or disks > 1:
        raise zipfile.BadZipFile("zipfiles that span multiple disks are not supported")
    archive.seek(offset - _ZIP64_LOCATOR.size - _ZIP64_RECORD.size, os.SEEK_END)
    data = archive.read(_ZIP64_RECORD.size)
    if len(data) != _ZIP64_RECORD.size:
        return record
    fields = _ZIP64_RECORD.unpack(data)
    if fields[0] != _ZIP64_END:
        return record
    record[0] = fields[0]
    record[1:7] = fields[4:10]  # disk, directory disk, entries here, entries, size, offset
    return record


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
    of the zip; raises SubmissionError at the first rule broken, and notes each entry skipped."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise SubmissionError(f"the zip holds {len(infos):,} entries, more than the "
                              f"{limits.max_entries:,} allowed", path=zip_path)
    skipped = _Skipped(printable_name(zip_path.name), notes)
    names = _Names()
    files, folders = [], []
    total = 0
    legacy_names = 0
    for info in infos:
        name, legacy = _entry_name(info)
        legacy_names += legacy
        shown = _shown(name)

        def refuse(reason):
            return SubmissionError(f"entry {shown}: {reason}", path=zip_path)

        parts, is_folder = _safe_parts(name, refuse)
        if name and (not parts or "__MACOSX" in parts or parts[-1].startswith("._")):
            continue  # the archive's root, or macOS metadata (resource forks), never content
        problem = _name_problem(name, parts, limits)
        if problem:
            skipped.add(shown, *problem)
            continue
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if file_type == stat.S_IFLNK:
            skipped.add(shown, "is a symbolic link", "symbolic links")
            continue
        is_folder = is_folder or file_type == stat.S_IFDIR
        if not is_folder and file_type not in (0, stat.S_IFREG):
            skipped.add(shown, "is a special file (a device or a pipe), not a regular one",
                        "special files")
            continue
        clash = names.clash(parts, is_folder)
        if clash:
            skipped.add(shown, *clash)
            continue
        if not is_folder:
            _check_content(info, refuse, limits)
            total += info.file_size
            if total > limits.max_total_bytes:
                raise refuse(f"brings the zip's uncompressed size over the "
                             f"{_size(limits.max_total_bytes)} allowed")
        names.add(parts, is_folder, shown)
        if names.folders > limits.max_folders:
            raise refuse(f"brings the number of folders the zip makes over the "
                         f"{limits.max_folders:,} allowed")
        if is_folder:
            folders.append(tuple(parts))
        else:
            files.append(_Entry(info, tuple(parts), shown))
    skipped.close()
    if legacy_names:
        notes.append(f"{skipped.label}: {legacy_names} entry name(s) are neither marked nor "
                     "valid UTF-8; read in the zip standard's legacy code page (cp437)")
    return files, folders


def _check_content(info, refuse, limits):
    """Raise what ``refuse(reason)`` returns for a file entry whose data cannot or must not be
    extracted: encrypted, compressed by an unsupported method, too large, a bomb."""
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


class _Skipped:
    """Notes on the entries of one zip that are not extracted: the first ``MAX_ENTRY_NOTES`` one
    by one, the rest counted by kind in a last note (a zip of 2,000 odd names makes 21 notes,
    not 2,000)."""

    def __init__(self, label, notes):
        self.label, self.notes = label, notes
        self.count = 0
        self.more = {}  # kind -> count, beyond the notes written

    def add(self, shown, reason, kind):
        self.count += 1
        if self.count <= MAX_ENTRY_NOTES:
            self.notes.append(f"{self.label}: entry {shown} {reason}; not extracted, not graded")
        else:
            self.more[kind] = self.more.get(kind, 0) + 1

    def close(self):
        if self.more:
            kinds = ", ".join(f"{n:,} {kind}" for kind, n in self.more.items())
            self.notes.append(f"{self.label}: {sum(self.more.values()):,} more entries not "
                              f"extracted, not graded: {kinds}")


class _Names:
    """The paths extraction will create, compared as macOS and Windows compare names (ignoring
    case, and Unicode normalisation), so that what is extracted is the same on every system.

    A tree of nodes, one per path component (not one full path per entry: a deep path costs
    its depth, not its depth squared). Each node is ``[is_folder, entry shown, children]``;
    ``children`` maps a folded component to its node.
    """

    def __init__(self):
        self.root = {}
        self.folders = 0  # folder nodes, explicit or implied

    def clash(self, parts, is_folder):
        """``(reason, kind)`` if an entry at ``parts`` cannot be written beside the entries
        added so far, else None."""
        level = self.root
        for i, part in enumerate(parts):
            node = level.get(_fold(part))
            if node is None:
                return None
            node_is_folder, node_shown, children = node
            last = i == len(parts) - 1
            if not node_is_folder:
                if last and not is_folder:
                    reason = (f"has the same name as entry {node_shown} (names compared "
                              "ignoring case, as on macOS and Windows); the first is kept")
                    return reason, "duplicates"
                what = "is a folder" if last else "needs a folder"
                reason = (f"{what} where entry {node_shown} is a file of the same name "
                          "(ignoring case); the first is kept")
                return reason, "file and folder clashes"
            if last and not is_folder:
                reason = (f"is a file where entry {node_shown} makes a folder of the same name "
                          "(ignoring case); the first is kept")
                return reason, "file and folder clashes"
            level = children
        return None

    def add(self, parts, is_folder, shown):
        """Record an entry that ``clash`` accepted, and the folders its path implies."""
        level = self.root
        for i, part in enumerate(parts):
            key = _fold(part)
            node = level.get(key)
            if node is None:
                folder = is_folder or i < len(parts) - 1
                node = level[key] = [folder, shown, {} if folder else None]
                self.folders += folder
            level = node[2]


def _fold(part):
    return unicodedata.normalize("NFC", part.casefold())


def _entry_name(info):
    """The entry's name as the student meant it, NFC-normalised, and whether it fell back to the
    legacy code page.

    zipfile decodes names without the UTF-8 flag as cp437, but macOS, Linux and 7-Zip often write
    UTF-8 without setting the flag: undo cp437 (it maps all 256 bytes) and try UTF-8 first.
    ``orig_filename`` keeps any NUL byte that zipfile would silently cut the name at.
    """
    name, legacy = info.orig_filename, False
    if name.isascii():  # the same in cp437 and UTF-8, and already NFC
        return name, legacy
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            legacy = True
    return unicodedata.normalize("NFC", name), legacy


def _shown(name, limit=80):
    """A name for a message: quoted, long names shortened, undecodable bytes replaced, control
    and direction-changing characters escaped (``repr`` escapes every unprintable character)."""
    name = decoded(name)
    if len(name) > limit:
        name = name[:limit - 3] + "..."
    return repr(name)


_DRIVE = re.compile(r"^[A-Za-z]:")
_EMPTY_OR_DOT = re.compile(r"/(?:\.?/)+")  # runs of empty and "." components, with their slashes


def _safe_parts(name, refuse):
    """The path components of an entry name and whether it names a folder; raises what
    ``refuse(reason)`` returns for a name that could land outside the destination."""
    name = name.replace("\\", "/")  # Windows tools sometimes write backslash separators
    if name.startswith("/"):  # also a UNC path, //server/share
        raise refuse("is an absolute path; entries must stay inside the submission")
    if _DRIVE.match(name):
        raise refuse("starts with a drive letter; entries must stay inside the submission")
    path = _EMPTY_OR_DOT.sub("/", f"/{name}/").strip("/")  # in C: names may have 500 parts
    parts = path.split("/") if path else []
    if ".." in parts:
        raise refuse("contains '..'; entries must stay inside the submission")
    return parts, name.endswith("/")


def _name_problem(name, parts, limits):
    """``(reason, kind)`` if an entry's name cannot be written faithfully or is unreasonable
    (the entry is then skipped), else None. ``parts`` are its checked components."""
    if not name:
        return "has an empty name", "empty names"
    if len(name) > limits.max_name_chars:
        reason = (f"has a name {len(name):,} characters long, more than the "
                  f"{limits.max_name_chars:,} allowed")
        return reason, "over-long names"
    if len(parts) > limits.max_depth:
        reason = f"has {len(parts):,} levels in its path, more than the {limits.max_depth} allowed"
        return reason, "nested too deep"
    control = _CONTROL.search(name)
    if control:
        reason = f"has the control character U+{ord(control.group()):04X} in its name"
        return reason, "names with control characters"
    bidi = _BIDI.search(name)
    if bidi:
        reason = (f"has the direction-changing character U+{ord(bidi.group()):04X} in its name "
                  "(it makes a name display as another)")
        return reason, "names with direction-changing characters"
    for part in parts:
        if len(part.encode("utf-8", "surrogatepass")) > limits.max_component_bytes:
            reason = (f"has a name with a part longer than {limits.max_component_bytes} bytes "
                      "(the usual file-system limit)")
            return reason, "over-long names"
    return None


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


def printable_name(text):
    """A file name for a note or message, as it is: undecodable bytes replaced by U+FFFD,
    control and direction-changing characters escaped as ``\\x0d`` or ``\\u202e``."""
    return _UNSAFE.sub(_escape, decoded(text))


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
