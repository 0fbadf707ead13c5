"""Finding a submission's output files, wherever the student put them.

Students are told to hand in ``output_files/`` holding ``<output>.csv`` files. Submissions also
arrive as loose CSV files, inside one or two extra folders (``e0123456g/output_files``, as a zip
of a folder unpacks), or with names a desktop or a browser changed. ``locate_outputs`` looks at
most ``MAX_DEPTH`` folders down, chooses the folder that holds the most outputs, and returns what
it found with notes for the student.

A file that is almost surely meant to be an output (wrong case, a copy suffix such as `` (1)``,
``-1`` or `` copy``, another extension such as ``.txt`` or none, stray blanks) is *misnamed*: the
grader grades it, and a note asks the student to rename it. Other unknown files get a "did you
mean" note when their name is close to a missing output's, and are not graded.

macOS and editor litter (``__MACOSX/``, ``.DS_Store``, ``._*``, hidden folders such as
``.ipynb_checkpoints``, ``__pycache__``) is ignored silently. Links to folders are never
followed; a link with an output's name is returned like a file, so that reading refuses it with
a message rather than the output being reported missing.
"""
import difflib
import os
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SubmissionError
from grader.intake import confine

STANDARD_FOLDER = "output_files"
MAX_DEPTH = 3  # folders below the submission's top that are looked into
MAX_ENTRIES = 10_000  # directory entries examined before the submission is refused
CLOSE_MATCH_CUTOFF = 0.8  # difflib ratio for "did you mean"
# Notes per submission: the first ones (where the outputs are, what was renamed) say what matters;
# 10,000 copies of an output would otherwise make 10,000 notes, a 1 MB feedback page and as much
# of results.json for one student.
MAX_NOTES = 25

# Extensions a misnamed output may carry instead of .csv (at most two, as in "x.csv.txt").
_DATA_EXTENSIONS = {".csv", ".txt", ".dat", ".tsv", ".text", ".out"}
_MISNAMED_EXTENSIONS = _DATA_EXTENSIONS | {".npy", ".xlsx", ".xls"}
_JUNK_FILES = {"thumbs.db", "desktop.ini"}
_JUNK_FOLDERS = {"__macosx", "__pycache__", "node_modules", "venv", "site-packages"}

# What desktops, browsers and cloud drives add to a copied or re-downloaded file's name:
# " (1)", "(2)", " copy", " copy 2", " - Copy", " - Copy (2)", "_copy", "-1", " 2"; "Copy of ".
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|\s*[-_]?\s*copy(?:\s*\(?\d+\)?)?|[\s-]\d+)$", re.I)
_COPY_PREFIX = re.compile(r"^copy\s+of\s+", re.I)
_SEPARATORS = re.compile(r"[\s.-]+")

# How sure a misnamed match is: the better one is graded when several name the same output.
_RANK_CASE_OR_EXTENSION = 0
_RANK_COPY = 1


@dataclass
class Located:
    """Where a submission's outputs are.

    ``files``: expected file name -> path, for files found under their exact name (or, for a
    link or a folder with an output's name, the path reading will refuse). ``misnamed``:
    expected file name -> path of a file almost surely meant to be it, for outputs not found
    under their exact name. ``root``: the folder the outputs were found in (the submission's
    top, or its ``output_files/``, when none was found). ``notes``: sentences for the student.
    Expected names in neither dict are missing.
    """

    files: dict = field(default_factory=dict)
    root: Path = None
    notes: list = field(default_factory=list)
    misnamed: dict = field(default_factory=dict)

    @property
    def to_grade(self):
        """expected file name -> path to grade: exact names, then misnamed files."""
        return {**self.misnamed, **self.files}


@dataclass
class _Entry:
    name: str
    path: Path
    is_folder_link: bool = False


@dataclass
class _Folder:
    path: Path
    depth: int
    entries: list = field(default_factory=list)  # file-like entries, sorted by name
    exact: dict = field(default_factory=dict)  # expected name -> _Entry
    misnamed: dict = field(default_factory=dict)  # expected name -> [(rank, _Entry)]

    @property
    def covered(self):
        return set(self.exact) | set(self.misnamed)


def locate_outputs(folder, expected_names):
    """Find the output files ``expected_names`` (file names with .csv) in the submission at
    ``folder``; a SubmissionError if it is not a folder or holds too many entries to examine."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionError("is not a folder", path=folder, code="missing_file")
    matcher = _Matcher(expected_names)
    folders, notes = _scan(folder)
    for f in folders:
        _classify(f, matcher)

    chosen = min(folders, key=lambda f: _preference(f, folder))
    located = Located(root=chosen.path)
    if not any(f.covered for f in folders):
        notes.insert(0, f"no output files found; put them in {STANDARD_FOLDER}/ at the top of "
                        f"the submission (looked up to {MAX_DEPTH} folders down)")
        archives = [e for f in folders for e in f.entries if e.name.lower().endswith(".zip")]
        if archives:
            notes.insert(1, f"{_rel(archives[0].path, folder)}: a zip inside the submission is "
                            "not opened; hand in the output files themselves")
    elif _where_note(chosen, folder):
        notes.insert(0, _where_note(chosen, folder))

    used = set()
    for name in matcher.expected:
        source = chosen if name in chosen.covered else _first_elsewhere(folders, chosen, name)
        if source is None:
            continue
        entry = _take(source, name, located, folder, notes)
        used.add(id(entry))
        if source is not chosen:
            notes.append(f"{_rel(entry.path, folder)}: found {_in(source.path, folder)}, not with "
                         f"the other outputs {_in(chosen.path, folder)}; graded, but keep all "
                         "outputs in one folder")

    missing = [n for n in matcher.expected if n not in located.to_grade]
    for f in folders:
        for entry in f.entries:
            if id(entry) in used:
                continue
            note = _unused_note(entry, f, chosen, matcher, missing, located, folder)
            if note:
                notes.append(note)
    for f in folders:
        unused = [n for n in matcher.expected if n in f.covered and not _graded_from(located, f, n)]
        if f is not chosen and unused:
            what = ", ".join(unused) if len(unused) <= 3 else f"{len(unused)} output files"
            notes.append(f"{_rel_folder(f.path, folder)} also holds {what}: not graded; the "
                         f"outputs {_in(chosen.path, folder)} were")
    located.notes = capped(notes)
    return located


def capped(notes, limit=MAX_NOTES):
    """``notes`` if there are at most ``limit``, else the first ``limit - 1`` and a count of the
    rest."""
    if len(notes) <= limit:
        return notes
    kept = notes[:limit - 1]
    return kept + [f"{len(notes) - len(kept):,} more notes like these are left out"]


class _Matcher:
    """Recognises expected names, exactly or misnamed."""

    def __init__(self, expected_names):
        self.expected = list(dict.fromkeys(expected_names))
        self.exact = set(self.expected)
        by_key = {}
        for name in self.expected:
            by_key.setdefault(_key(_stem(name)), []).append(name)
        # two outputs whose names differ only in case or separators cannot be told apart
        self.by_key = {k: names[0] for k, names in by_key.items() if len(names) == 1}

    def misnamed(self, file_name):
        """(expected name, rank) for a file almost surely meant to be that output, or None."""
        stem = _strip_extensions(file_name)
        if stem is None:
            return None
        name = self.by_key.get(_key(stem))
        if name is not None:
            return name, _RANK_CASE_OR_EXTENSION
        bare = stem.strip()
        for _ in range(3):
            bare = _COPY_PREFIX.sub("", _COPY_SUFFIX.sub("", bare)).strip()
        name = self.by_key.get(_key(bare))
        if name is not None and bare != stem.strip():
            return name, _RANK_COPY
        return None

    def close_to(self, file_name, candidates):
        """The expected name among ``candidates`` closest to ``file_name``, or None."""
        stem = _strip_extensions(file_name)
        if stem is None or not candidates:
            return None
        keys = {_key(_stem(n)): n for n in candidates}
        match = difflib.get_close_matches(_key(stem), list(keys), n=1, cutoff=CLOSE_MATCH_CUTOFF)
        return keys[match[0]] if match else None


def _stem(expected_name):
    return expected_name[:-4] if expected_name.lower().endswith(".csv") else expected_name


def _key(stem):
    return _SEPARATORS.sub("_", stem.casefold()).strip("_")


def _strip_extensions(file_name):
    """The name without up to two data extensions ("x.csv.txt" -> "x"), or None when it ends in
    an extension no output would have (".py", ".ipynb")."""
    stem = file_name.strip()
    for stripped in range(2):
        base, dot, ext = stem.rpartition(".")
        if not dot or not base.strip():
            break
        if "." + ext.strip().lower() in _MISNAMED_EXTENSIONS:
            stem = base
        elif stripped == 0 and _looks_like_extension(ext):
            return None
        else:
            break
    return stem


def _looks_like_extension(ext):
    return 1 <= len(ext) <= 5 and ext.isalnum() and not ext.isdigit()


def _is_junk(name, is_dir):
    lower = name.lower()
    if name.startswith(".") or name.startswith("~$"):
        return True
    return lower in (_JUNK_FOLDERS if is_dir else _JUNK_FILES)


def _scan(top):
    """The folders under ``top`` down to MAX_DEPTH, breadth first, with their file-like entries;
    and notes on links to folders and unreadable folders. Folders are listed through
    grader.confine: below a submission held open, no link on the way is followed."""
    folders, notes = [], []
    queue = deque([(top, 0)])
    examined = 0
    while queue:
        path, depth = queue.popleft()
        folder = _Folder(path, depth)
        try:
            listing = _listing(path, MAX_ENTRIES - examined)
        except OSError as e:
            if path == top:  # nothing at all can be searched
                raise SubmissionError(f"cannot be read ({e.strerror}): the grader may not open "
                                      "this folder", path=top) from None
            notes.append(f"{_rel_folder(path, top)}: cannot be read ({e.strerror}); not searched")
            continue
        subfolders = []
        for item in listing:
            examined += 1
            if examined > MAX_ENTRIES:
                raise SubmissionError(
                    f"holds more than {MAX_ENTRIES:,} files and folders within {MAX_DEPTH} "
                    "levels: not examined; hand in output_files/ and your code only",
                    path=top, code="parse_error")
            if item is None:
                continue
            name, is_dir, is_folder_link = item
            if _is_junk(name, is_dir):
                continue
            if is_dir:
                subfolders.append(name)
            else:
                folder.entries.append(_Entry(name, path / name, is_folder_link=is_folder_link))
        for name in sorted(subfolders):
            if name.lower().endswith(".csv"):  # a folder named like an output: reading says so
                folder.entries.append(_Entry(name, path / name))
            elif depth < MAX_DEPTH:
                queue.append((path / name, depth + 1))
        folder.entries.sort(key=lambda e: e.name)
        folders.append(folder)  # breadth first, by name: shallowest first, deterministic
    return folders, notes


def _listing(path, budget):
    """(name, is a folder, is a link to a folder) for the entries of the folder at
    ``path``, None for one that vanished while listed; at most ``budget`` + 1 of them. Raises
    OSError if the folder cannot be listed."""
    found = []
    with confine.scandir(path) as entries:
        for entry in entries:
            if len(found) > budget:
                break
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except OSError:
                found.append(None)
                continue
            found.append((entry.name, is_dir, is_link and _points_to_folder(entry)))
    return found


def _points_to_folder(entry):
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _classify(folder, matcher):
    for entry in folder.entries:
        if entry.name in matcher.exact:
            folder.exact[entry.name] = entry
            continue
        match = None if entry.is_folder_link else matcher.misnamed(entry.name)
        if match is not None:
            name, rank = match
            folder.misnamed.setdefault(name, []).append((rank, entry))
    for candidates in folder.misnamed.values():
        candidates.sort(key=lambda c: (c[0], c[1].name))


def _preference(folder, top):
    """Sort key of the folder most likely to hold the outputs (least wins): the most outputs,
    the most under their exact names, named output_files/, the most data files (which only
    matters when no output was found), the shallowest, the first by name."""
    data_files = sum(1 for e in folder.entries if _is_data_name(e.name))
    return (-len(folder.covered), -len(folder.exact), folder.path.name != STANDARD_FOLDER,
            -data_files, folder.depth, folder.path.relative_to(top).as_posix())


def _is_data_name(name):
    return os.path.splitext(name)[1].lower() in _DATA_EXTENSIONS


def _first_elsewhere(folders, chosen, name):
    for f in folders:  # shallowest first
        if f is not chosen and name in f.exact:
            return f
    for f in folders:
        if f is not chosen and name in f.misnamed:
            return f
    return None


def _take(source, name, located, top, notes):
    """Record ``name`` as found in ``source``; note a misnaming. The entry taken."""
    if name in source.exact:
        located.files[name] = source.exact[name].path
        return source.exact[name]
    rank, entry = source.misnamed[name][0]
    located.misnamed[name] = entry.path
    notes.append(f"{_rel(entry.path, top)}: graded as {name}; rename it")
    return entry


def _graded_from(located, folder, name):
    path = located.to_grade.get(name)
    return path is not None and path.parent == folder.path


def _unused_note(entry, folder, chosen, matcher, missing, located, top):
    """A note on a file that is not graded, or None to say nothing."""
    rel = _rel(entry.path, top)
    if entry.is_folder_link:
        return f"{rel}: a link to a folder; not followed"
    match = entry.name if entry.name in matcher.exact else matcher.misnamed(entry.name)
    if match is not None:
        name = match if isinstance(match, str) else match[0]
        graded = located.to_grade[name]  # a match is always graded from somewhere
        if folder is not chosen and graded.parent != entry.path.parent:
            return None  # a copy in another folder: summed up in one note per folder
        if graded.name == name:
            return f"{rel}: not graded; {_rel(graded, top)} was"
        return f"{rel}: not graded; {_rel(graded, top)} was graded as {name}"
    if folder is not chosen:
        return None
    close = matcher.close_to(entry.name, missing)
    if close is not None:
        return f"{rel}: not an output name, not graded; did you mean {close}?"
    if _is_data_name(entry.name):
        return f"{rel}: not an output of this assignment; ignored"
    return None


def _rel(path, top):
    return path.relative_to(top).as_posix()


def _rel_folder(path, top):
    rel = path.relative_to(top).as_posix()
    return "the top of the submission" if rel == "." else rel + "/"


def _in(path, top):
    rel = path.relative_to(top).as_posix()
    return "at the top of the submission" if rel == "." else f"in {rel}/"


def _where_note(chosen, top):
    # output_files/ at the top, or output_files/ itself given (a student checking that folder).
    if chosen.depth <= 1 and chosen.path.name == STANDARD_FOLDER:
        return None
    if chosen.path.name == STANDARD_FOLDER:
        return f"outputs found {_in(chosen.path, top)}"
    return f"outputs found {_in(chosen.path, top)}, not in {STANDARD_FOLDER}/"
