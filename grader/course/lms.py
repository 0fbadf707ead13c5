"""Submission names as learning-management systems write them, and which student each is.

A submission under ROOT is a folder or a file whose name an LMS made; :func:`parse_submission_name`
reads one into a :class:`SubmissionName`, :func:`group_by_student` gathers them per student
(through a roster when there is one) and picks the latest of each student's entries.

Canvas, "Download Submissions" (canvas-lms ``lib/content_zipper.rb``)::

    <name>_<user id>_<upload id>_<file>          smithjohn_12345_678901_hw2.zip
    <name>_LATE_<user id>_<upload id>_<file>     smithjohn_LATE_12345_678902_hw2-1.zip
    LATE_anon_<anonymous id>_<upload id>_<file>  (anonymous grading: no name, no user id)
    <name>_<user id>_text.html, _link.html       (text-entry and URL submissions)

``<name>`` is the student's sortable name ("Smith, John") with everything but letters, digits
and ``_`` removed, lower-cased; ``_<digits>_`` inside it is collapsed so that the ids can be
found, but it may still contain ``_`` and non-ASCII letters. ``<user id>`` is the Canvas user
id (the ``ID`` column of Canvas's gradebook export); ``<upload id>`` is the id of the uploaded
file, which Canvas numbers in upload order. Canvas renames a file uploaded again under the same
name ``hw2-1.zip``, ``hw2-2.zip``... (``Attachment.make_unique_filename``, after 7 copies a
random uuid): that number is the ``attempt``.

Moodle, "Download all submissions" (``mod/assign/classes/downloader.php``)::

    <Full Name>_<participant id>_assignsubmission_file/       (a folder per student; since 2022)
    <Full Name>_<participant id>_assignsubmission_file_/      (from Moodle 3.1 until then)
    <Full Name>_<participant id>_assignsubmission_file_<file> ("download submissions in folders"
                                                               off, and before Moodle 3.1)

``_`` in the full name is replaced by a space, so the first ``_<digits>_assignsubmission_``
ends the name. The participant id is not the user id: it is the ``Participant N`` of Moodle's
grading worksheet. Blind marking writes ``Participant`` as the name; team submissions write the
group's name and id. A Moodle download holds only each student's current attempt and no late
marker.

Anything else is a plain id: the entry's name without ``.zip``.
"""
import re
from dataclasses import dataclass

from grader.errors import GraderError
from grader.course.roster import KIND_WORDS

_ZIP = re.compile(r"\.zip\Z", re.IGNORECASE)
_MOODLE = re.compile(r"(?P<name>.*?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<file>.*))?\Z",
                     re.DOTALL)
# What follows "<name>_" in a Canvas upload's name; tried after each "_" in turn (see _canvas).
_CANVAS_TAIL = re.compile(r"(?:(?P<late>late)_)?(?P<uid>\d+)_(?P<upload>\d+)_(?P<file>.+)\Z",
                          re.IGNORECASE | re.DOTALL)
_CANVAS_ANONYMOUS = re.compile(
    r"(?:(?P<late>late)_)?(?P<uid>anon_[A-Za-z0-9]+)_(?P<upload>\d+)_(?P<file>.+)\Z",
    re.IGNORECASE | re.DOTALL)
_CANVAS_ENTRY = re.compile(r"(?P<name>.*?)_(?:(?P<late>late)_)?(?P<uid>\d+)_(?P<kind>text|link)\.html\Z",
                           re.IGNORECASE | re.DOTALL)
# Canvas's extension rule (make_unique_filename): ".tar.gz" is one extension.
_EXTENSION = re.compile(r"(\.[A-Za-z][A-Za-z0-9]*)*(\.[A-Za-z0-9]*)\Z")
_COPY_NUMBER = re.compile(r"-(\d{1,2})\Z")
_COPY_UUID = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
CANVAS_UUID_ATTEMPT = 8  # Canvas names the 8th and later copies with a uuid instead of a number


@dataclass(frozen=True)
class SubmissionName:
    """What a submission's name says about it.

    ``key``: the Canvas user id (``anon_<id>`` under anonymous grading), the Moodle participant
    id, or the plain id. ``name``: the student's name as the LMS wrote it (None for a plain id).
    ``late``: Canvas's LATE marker. ``attempt``: Canvas's copy number of the file (0 for the
    first upload of a name). ``upload_id``: Canvas's id of the uploaded file (later uploads have
    larger ids). ``file``: the student's own file name inside the LMS's name, if any.
    """

    entry: str
    lms: str
    key: str
    name: str | None = None
    late: bool = False
    attempt: int = 0
    upload_id: int | None = None
    file: str | None = None

    @property
    def order(self):
        """Sorts a student's entries from earliest to latest, as far as names can tell."""
        return (self.upload_id if self.upload_id is not None else -1, self.attempt)


def parse_submission_name(entry, known_keys=None):
    """Read the submission folder or file name ``entry`` (no path).

    A Canvas name can split in more than one place when a file name holds ``_<digits>_``;
    the first split is taken, unless ``known_keys`` (Canvas user ids, e.g. from the roster)
    is given and a later split gives a known user id.
    """
    moodle = _MOODLE.match(entry)
    if moodle:
        return SubmissionName(entry=entry, lms="moodle", key=moodle["pid"],
                              name=" ".join(moodle["name"].split()),
                              file=moodle["file"] or None)
    canvas = _canvas(entry, known_keys)
    if canvas is not None:
        return canvas
    return SubmissionName(entry=entry, lms="plain", key=_ZIP.sub("", entry) or entry)


def _canvas(entry, known_keys):
    anonymous = _CANVAS_ANONYMOUS.match(entry)
    if anonymous:
        return _canvas_name(entry, None, anonymous)
    text_entry = _CANVAS_ENTRY.match(entry)
    if text_entry:
        return SubmissionName(entry=entry, lms="canvas", key=text_entry["uid"],
                              name=text_entry["name"], late=bool(text_entry["late"]))
    candidates = []
    for start in [0] + [m.end() for m in re.finditer("_", entry)]:
        tail = _CANVAS_TAIL.match(entry, start)
        if tail:
            candidates.append(_canvas_name(entry, entry[:start - 1] if start else None, tail))
    if not candidates:
        return None
    if known_keys is not None:
        known = {str(k) for k in known_keys}
        return next((c for c in candidates if c.key in known), candidates[0])
    return candidates[0]


def _canvas_name(entry, name, match):
    return SubmissionName(entry=entry, lms="canvas", key=match["uid"], name=name,
                          late=bool(match["late"]), attempt=canvas_attempt(match["file"]),
                          upload_id=int(match["upload"]), file=match["file"])


def canvas_attempt(file):
    """Canvas's copy number in an uploaded file's name: ``hw2-1.zip`` is 1, ``hw2.zip`` 0."""
    extension = _EXTENSION.search(file)
    base = file[:extension.start()] if extension and extension.start() > 0 else file
    number = _COPY_NUMBER.search(base)
    if number:
        return int(number.group(1))
    return CANVAS_UUID_ATTEMPT if _COPY_UUID.search(base) else 0


@dataclass(frozen=True)
class StudentSubmissions:
    """One student's entries: ``latest`` is graded, ``others`` (earliest first) are named.

    ``student``: the roster key, or the LMS key without a roster. ``matched_by``: ``id`` or
    ``name`` (how the least certain entry was matched to the roster; ``id`` without one).
    ``order_known``: False when the names cannot tell which entry is the latest (only Canvas
    names carry an upload id, which orders them), so ``latest`` is merely the last by name.
    """

    student: str
    latest: SubmissionName
    others: tuple = ()
    matched_by: str = "id"
    order_known: bool = True


@dataclass(frozen=True)
class Unmatched:
    """An entry that matches no roster student, and why."""

    entry: SubmissionName
    why: str


@dataclass(frozen=True)
class Grouping:
    students: tuple  # StudentSubmissions, in student order
    unmatched: tuple = ()  # Unmatched, in entry order


def group_by_student(entries, roster=None):
    """Gather the submission names ``entries`` (strings) per student.

    With a ``roster``, a Canvas entry is matched by its user id (the roster's Canvas ID), a
    Moodle entry by its participant id, a plain entry by any id; failing that, a Canvas or Moodle
    entry is matched by name when exactly one student has it. Without a roster, entries are
    grouped by their key. Students come in roster order (or key order); an entry that matches
    nobody is in ``unmatched``.
    """
    known = {s.canvas_id for s in roster if s.canvas_id} if roster is not None else None
    groups, unmatched = {}, []
    for entry in sorted(entries, key=lambda e: (e.casefold(), e)):
        name = parse_submission_name(entry, known_keys=known)
        if roster is None:
            groups.setdefault(name.key, []).append((name, "id"))
            continue
        student, how, why = _match(name, roster)
        if student is None:
            unmatched.append(Unmatched(name, why))
        else:
            groups.setdefault(student.key, []).append((name, how))
    order = ({s.key: i for i, s in enumerate(roster)} if roster is not None
             else {k: i for i, k in enumerate(sorted(groups, key=lambda k: (k.casefold(), k)))})
    students = [_latest(key, groups[key]) for key in sorted(groups, key=order.__getitem__)]
    return Grouping(tuple(students), tuple(unmatched))


def _match(name, roster):
    """(student, 'id' | 'name', None) or (None, None, why)."""
    if name.key.startswith("anon_"):
        return None, None, "anonymous Canvas submission: no user id in its name"
    kind = _ID_KIND.get(name.lms, "key")
    try:
        student = roster.find(name.key, (kind,)) if name.lms in _ID_KIND else roster.find(name.key)
    except GraderError as e:
        return None, None, e.message
    if student is not None:
        return student, "id", None
    if name.name:
        student = roster.find_by_name(name.name)
        if student is not None:
            return student, "name", None
        return None, None, (f"no roster student has the {KIND_WORDS[kind]} {name.key} or the "
                            f"name {name.name!r}")
    return None, None, f"no roster student has the id {name.key!r}"


_ID_KIND = {"canvas": "canvas_id", "moodle": "participant_id"}  # what an LMS's key is


def _latest(student, named):
    ordered = sorted(named, key=lambda pair: (pair[0].order, pair[0].entry.casefold(), pair[0].entry))
    names = [name for name, _ in ordered]
    matched_by = "name" if any(how == "name" for _, how in ordered) else "id"
    order_known = len(names) == 1 or (all(n.upload_id is not None for n in names)
                                      and names[-1].order > names[-2].order)
    return StudentSubmissions(student, names[-1], tuple(names[:-1]), matched_by, order_known)
