"""The class list: who is in the course and every id each student goes by.

Three layouts are read, recognised by their header (see :func:`read_roster`):

- **Canvas's gradebook export** (Grades > Export). Its header is ``Student, ID, SIS User ID,
  SIS Login ID, Section`` (or ``LastName, FirstName, ...``; a TA's export may lack ``SIS User
  ID``), then custom and assignment columns, which are ignored. Canvas writes a ``Points
  Possible`` row under the header and, when some assignment posts grades manually, a row
  holding only ``Manual Posting`` (``Muted`` before 2019) markers; neither is a student. Nor is
  Canvas's Test Student (``Student, Test`` with no SIS ids), whom "Student View" adds.
  ``ID`` is the Canvas user id, the number in a Canvas bulk download's file names.
- **Moodle's grading worksheet** (Assignment > Download grading worksheet): ``Identifier`` holds
  ``Participant 123456``, the participant id in a Moodle download's folder names; ``Full name``,
  ``Email address``, when the site shows it ``ID number``, and ``Last modified (submission)``,
  the time of the student's submission as Moodle recorded it (kept as written: see times.py).
- **A plain table** with an id column, and optionally name, email and other id columns, found
  by common names (case, spacing, ``_`` and ``-`` ignored; see ``PLAIN_COLUMNS``).

Every student has a ``key``, the id the course's gradebook uses: the plain table's id column,
Canvas's SIS User ID (else SIS Login ID, else Canvas ID), Moodle's ID number (else email, else
``Participant N``). :meth:`Roster.find` maps any of a student's ids to the student, comparing
them case-insensitively; an id that two students share within one kind (two rows with one
email) is refused when the roster is read.
"""
import re
import unicodedata
from dataclasses import dataclass, field, fields

import pandas as pd

from grader.errors import GraderError
from grader.course.tables import FIRST_DATA_ROW, find_column, header_key, is_blank, read_table, shown_columns

# The kinds of id a student may carry, in the order `find` prefers them.
ID_KINDS = ("key", "sis_user_id", "sis_login_id", "email", "canvas_id", "participant_id")
KIND_WORDS = {"key": "id", "sis_user_id": "SIS User ID", "sis_login_id": "SIS Login ID",
              "email": "email", "canvas_id": "Canvas ID", "participant_id": "participant id"}

# Header names (as header_key folds them) by field, for a plain table. The first found wins.
PLAIN_COLUMNS = {
    "id": ("id", "student id", "studentid", "student number", "student no", "matric no",
           "matric number", "matriculation number", "sis user id", "sis id", "id number",
           "user id", "userid"),
    "name": ("name", "full name", "student name", "student"),
    "first": ("first name", "firstname", "given name"),
    "last": ("last name", "lastname", "surname", "family name"),
    "email": ("email", "email address", "e mail", "e mail address", "mail"),
    "login": ("sis login id", "login", "login id", "username", "user name", "netid", "net id"),
    "canvas_id": ("canvas id", "canvas user id"),
    "section": ("section", "group", "tutorial group"),
}
_CANVAS_HIDDEN_ROW = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)
_PARTICIPANT = re.compile(r"(\d+)\s*$")
_CANVAS_TEST_STUDENT = "student, test"


@dataclass(frozen=True)
class RosterStudent:
    """One student of the course, with every id the roster gives them ('' where none)."""

    key: str
    name: str = ""
    email: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    canvas_id: str = ""
    participant_id: str = ""
    section: str = ""
    row: int = 0  # the row of the roster file, as a spreadsheet numbers it
    submitted: str = ""  # the LMS's submission time, as the roster writes it (Moodle's worksheet)

    def ids(self):
        """(kind, value) for every id the student has, in ID_KINDS order."""
        return [(kind, getattr(self, kind)) for kind in ID_KINDS if getattr(self, kind)]


@dataclass(frozen=True)
class Roster:
    """The students of a roster file, looked up by any id or by name.

    ``kind`` is ``canvas``, ``moodle`` or ``plain``; ``skipped`` lists the rows that are not
    students, as ``(row, why)``.
    """

    source: str
    kind: str
    students: tuple
    skipped: tuple = ()
    _by_id: dict = field(default=None, init=False, repr=False, compare=False)
    _by_name: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        by_id = {kind: {} for kind in ID_KINDS}
        for student in self.students:
            for kind, value in student.ids():
                other = by_id[kind].setdefault(id_key(value), student)
                if other is not student:
                    raise GraderError(f"rows {other.row} and {student.row} share the "
                                      f"{KIND_WORDS[kind]} {value!r}; each student "
                                      "needs their own", path=self.source, line=student.row)
        by_name = {}
        for student in self.students:
            for variant in name_keys(student.name):
                by_name.setdefault(variant, set()).add(student)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_name", by_name)

    def __len__(self):
        return len(self.students)

    def __iter__(self):
        return iter(self.students)

    def find(self, identifier, kinds=ID_KINDS):
        """The student who has ``identifier`` as one of their ids of ``kinds``, or None.

        Raises GraderError when the identifier is one student's id of one kind and another
        student's id of another kind: guessing would give one student another's grade.
        """
        wanted = id_key(identifier)
        if not wanted:
            return None
        found = {}
        for kind in kinds:
            student = self._by_id[kind].get(wanted)
            if student is not None:
                found.setdefault(student, kind)
        if len(found) > 1:
            which = " and ".join(f"the {KIND_WORDS[kind]} of row {s.row}"
                                 for s, kind in found.items())
            raise GraderError(f"{identifier!r} is ambiguous: it is {which}",
                              path=self.source)
        return next(iter(found), None)

    def find_by_name(self, name):
        """The one student whose name matches ``name`` (see :func:`name_keys`), or None when no
        student or several students match."""
        matches = set()
        for variant in name_keys(name):
            matches |= self._by_name.get(variant, set())
        return next(iter(matches)) if len(matches) == 1 else None

    def frame(self):
        """The roster as a DataFrame, one row per student, a column per RosterStudent field."""
        names = [f.name for f in fields(RosterStudent)]
        return pd.DataFrame([[getattr(s, n) for n in names] for s in self.students], columns=names)


def id_key(value):
    """An id as compared: Unicode-normalised, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


def name_slug(text):
    """A name reduced to its letters and digits, case-folded: how Canvas writes a name into its
    download file names (``Smith, John`` -> ``smithjohn``), and how names are compared."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\W_]+", "", text)


def name_keys(name):
    """The slugs a name may appear as: as written, and with its last word first or last
    (``John Smith`` and ``Smith, John`` are both ``smithjohn`` and ``johnsmith``)."""
    name = " ".join(str(name).split())
    if not name:
        return set()
    keys = {name_slug(name)}
    if "," in name:
        last, first = name.split(",", 1)
        keys.add(name_slug(f"{first} {last}"))
    elif " " in name:
        first, last = name.rsplit(" ", 1)
        keys.add(name_slug(f"{last} {first}"))
    return {key for key in keys if key}


def read_roster(path):
    """Read the roster at ``path`` (Canvas export, Moodle worksheet or plain table).

    Raises GraderError naming the file, and the column or row, when no id column can be found,
    a student row has no id, two rows share an id, or the file is not a CSV table.
    """
    frame = read_table(path, "roster")
    keys = {header_key(c) for c in frame.columns}
    if {"id", "section", "sis login id"} <= keys and ({"student"} <= keys or {"lastname", "firstname"} <= keys):
        kind, students, skipped = "canvas", *_canvas_students(frame, path)
    elif {"identifier", "full name"} <= keys:
        kind, students, skipped = "moodle", *_moodle_students(frame, path)
    else:
        kind, students, skipped = "plain", *_plain_students(frame, path)
    if not students:
        raise GraderError("the roster lists no student", path=path)
    return Roster(str(path), kind, tuple(students), tuple(skipped))


def _rows(frame):
    """(row number, record) for every non-blank row."""
    for index, record in enumerate(frame.to_dict("records")):
        if not is_blank(record):
            yield index + FIRST_DATA_ROW, {k: str(v).strip() for k, v in record.items()}


def _canvas_students(frame, path):
    columns = frame.columns
    student_col = find_column(columns, ("student",))
    last_col, first_col = find_column(columns, ("lastname",)), find_column(columns, ("firstname",))
    id_col = find_column(columns, ("id",))
    sis_col = find_column(columns, ("sis user id",))
    login_col = find_column(columns, ("sis login id",))
    section_col = find_column(columns, ("section",))
    students, skipped = [], []
    for row, record in _rows(frame):
        name = (record[student_col] if student_col
                else f"{record[last_col]}, {record[first_col]}".strip(", "))
        if "Points Possible" in name:
            skipped.append((row, "Canvas's Points Possible row"))
            continue
        if all(_CANVAS_HIDDEN_ROW.match(value) for value in record.values()):
            skipped.append((row, "Canvas's Manual Posting (muted) row"))
            continue
        sis_user_id = record[sis_col] if sis_col else ""
        login = record[login_col]
        if name.casefold() == _CANVAS_TEST_STUDENT and not sis_user_id and not login:
            skipped.append((row, "Canvas's Test Student"))
            continue
        canvas_id = record[id_col]
        key = sis_user_id or login or canvas_id
        if not key:
            raise GraderError(f"{name or 'this student'} has no ID, SIS User ID or SIS Login ID",
                              path=path, line=row)
        students.append(RosterStudent(key=key, name=name, sis_user_id=sis_user_id,
                                      sis_login_id=login, canvas_id=canvas_id,
                                      section=record[section_col], row=row))
    return students, skipped


def _moodle_students(frame, path):
    columns = frame.columns
    ident_col = find_column(columns, ("identifier",))
    name_col = find_column(columns, ("full name",))
    email_col = find_column(columns, ("email address", "email"))
    number_col = find_column(columns, ("id number",))
    login_col = find_column(columns, ("username",))
    submitted_col = find_column(columns, ("last modified (submission)",))
    students = []
    for row, record in _rows(frame):
        match = _PARTICIPANT.search(record[ident_col])
        if not match:
            raise GraderError(f"column {ident_col!r}: {record[ident_col]!r} is not "
                              "'Participant <number>'", path=path, line=row)
        participant = match.group(1)
        email = record[email_col] if email_col else ""
        number = record[number_col] if number_col else ""
        students.append(RosterStudent(
            key=number or email or f"Participant {participant}", name=record[name_col],
            email=email, sis_user_id=number, sis_login_id=record[login_col] if login_col else "",
            participant_id=participant, row=row,
            submitted=record[submitted_col] if submitted_col else ""))
    return students, []


def _plain_students(frame, path):
    columns = {name: find_column(frame.columns, names) for name, names in PLAIN_COLUMNS.items()}
    key_col = columns["id"] or columns["email"]
    if key_col is None:
        expected = ", ".join(repr(n) for n in PLAIN_COLUMNS["id"][:6] + PLAIN_COLUMNS["email"][:2])
        raise GraderError(f"no column of student ids: name one {expected}, ... (found "
                          f"{shown_columns(frame.columns)})", path=path)

    def cell(record, name):
        return record[columns[name]] if columns[name] else ""

    students = []
    for row, record in _rows(frame):
        key = record[key_col]
        if not key:
            raise GraderError(f"column {key_col!r} is empty: every student needs an id",
                              path=path, line=row)
        name = cell(record, "name") or " ".join(
            part for part in (cell(record, "first"), cell(record, "last")) if part)
        students.append(RosterStudent(
            key=key, name=name, email=cell(record, "email"),
            sis_user_id=record[columns["id"]] if columns["id"] else "",
            sis_login_id=cell(record, "login"), canvas_id=cell(record, "canvas_id"),
            section=cell(record, "section"), row=row))
    return students, []
