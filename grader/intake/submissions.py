"""Intake of submissions: a submission is hostile until read.

``list_submissions(root)`` finds the submissions directly under ROOT: each sub-folder or ``.zip``
file (any case) is one student, whose id is the folder name or the zip name without ``.zip``.
``open_submission(source)`` yields a folder to grade: a folder submission itself, or a private
temporary folder into which a zip was extracted under the limits of ``ZipLimits``, and which is
removed on exit whatever happens.


Zips are extracted by grader/intake/zips.py, whose docstring says what is refused and what is
skipped with a note.


Folder submissions are not copied: they are held open while graded (grader.intake.confine), and
locating and reading go through that handle without following any link, so that a student who
changes their folder while it is graded (a folder swapped for a link) cannot make the grader read
outside it; the reader also refuses links and special files themselves.
"""
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError, SubmissionError
from grader.intake.confine import holding
from grader.intake.ids import assign_ids, clean_id
from grader.intake.zips import DEFAULT_LIMITS, extract_zip


KINDS = ("folder", "zip", "link")
_KIND_PRIORITY = {"folder": 0, "zip": 1, "link": 2}  # who keeps the bare id when ids collide


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
    note: str = ""  # why the id is not the entry's name (a clash, invisible characters), if so

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
            return cls(clean_id(name), resolved, "folder")
        if stat.S_ISREG(info.st_mode):
            return cls(clean_id(_strip_zip(name)), resolved, "zip")
        raise SubmissionError("is neither a folder nor a zip file", path=given)


# What operating systems, file managers and version control leave in a folder: never a
# submission, skipped silently under ROOT (compared ignoring case). Names starting with ``._``
# (macOS resource forks) too.
_ROOT_JUNK = {".ds_store", "__macosx", ".git", ".gitignore", ".gitattributes", ".gitkeep", ".svn",
              ".hg", ".ipynb_checkpoints", "thumbs.db", "desktop.ini", ".localized", ".trashes",
              ".spotlight-v100", ".fseventsd", ".temporaryitems"}


def _is_root_junk(name):
    return name.startswith("._") or name.casefold() in _ROOT_JUNK


class SubmissionList(list):
    """The submissions under ROOT, in id order; ``ignored`` lists the other entries, which are
    not graded (a stray CSV or PDF, a hidden ``.e0123`` folder), for the batch to mention.
    Known litter (``.DS_Store``, ``__MACOSX``, ``.git``...) is skipped silently."""

    def __init__(self, sources=(), ignored=()):
        super().__init__(sources)
        self.ignored = list(ignored)

    @property
    def renamed(self):
        """Why some ids are not their entry's name: one sentence per such submission."""
        return [source.note for source in self if source.note]


def list_submissions(root):
    """Every submission directly under ``root``, sorted by id; see SubmissionList.

    - A sub-folder is a ``folder`` submission, id = its name; a regular file ending in ``.zip``
      (any case) is a ``zip`` submission, id = its name without the extension.
    - A symbolic link is never followed: a link to a folder, a link named ``*.zip`` or a dangling
      link is a ``link`` submission (opening it raises SubmissionError, so the student appears in
      the results with the reason); a link to any other file is ignored like a loose file.
    - Known litter is skipped silently: ``.DS_Store``, ``._*``, ``__MACOSX``, ``.git``,
      ``.ipynb_checkpoints``, ``Thumbs.db``, ``desktop.ini`` and a few like them (``_ROOT_JUNK``).
      Any other hidden entry (a name starting with ``.``, such as ``.e0123`` or ``..foo``: a
      student's work that a file manager would not show) is not graded but goes into
      ``ignored``, as does any other entry that is not a submission (a loose file, a FIFO).
    - Ids are made printable and comparable: NFC-normalised (``café`` typed on macOS, with a
      combining accent, is the same id as ``café`` typed elsewhere), and bytes that are not
      UTF-8, control, direction-changing and invisible characters (a zero-width space, a soft
      hyphen, a BOM...) become U+FFFD, so that no two students display identically.
    - Duplicate ids, compared case-insensitively (feedback pages are files named by id, and
      ``e01.html`` and ``E01.html`` are one file on macOS and Windows): a folder keeps the bare
      id before a zip, a zip before a link, and otherwise the smaller name wins; each other
      submission's id is its full entry name (``e01`` folder and ``e01.zip`` give ids ``e01`` and
      ``e01.zip``), with ``~2``, ``~3``... appended if even that is taken. Ids compare after
      normalisation, so two names that only look alike clash too.
    - A submission whose id is not its entry's name (a clash, or characters made visible) has a
      ``note`` saying why, naming the entry with its invisible characters escaped;
      ``SubmissionList.renamed`` lists these notes for the batch to report.
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
        if _is_root_junk(name):
            continue
        path = root / name
        if name.startswith("."):  # hidden: not graded, but said
            ignored.append(path)
            continue
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

    sources = [SubmissionSource(id_, path, kind, note)
               for id_, path, kind, note in _assign_ids(found)]
    sources.sort(key=lambda s: (s.id.casefold(), s.id))
    ignored.sort(key=lambda p: (p.name.casefold(), p.name))
    return SubmissionList(sources, ignored)


def _assign_ids(found):
    """(id, path, kind, note) for each found entry (see list_submissions and grader.ids)."""
    # An entry whose name is already its id keeps it before a look-alike spelling.
    ordered = sorted(found, key=lambda f: (_KIND_PRIORITY[f[3]], clean_id(f[0]) != f[0], f[1]))
    named = assign_ids([(bare, name) for bare, name, _path, _kind in ordered])
    return [(id_, path, kind, note)
            for (id_, note), (_bare, _name, path, kind) in zip(named, ordered)]


def _strip_zip(name):
    return name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else name


@contextmanager
def open_submission(source, tmp_root=None, *, limits=None, notes=None):
    """Yield a folder (Path) holding ``source``'s files, ready to grade, held open for the block
    (grader.confine): below it, every read goes through that handle and follows no link, so a
    student who swaps a folder for a link while it is graded gets nothing read outside.

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
        with holding(source.path):  # a link, a file, a folder gone or unreadable: refused here
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
        with holding(tmp):
            yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
