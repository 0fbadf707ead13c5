"""Reading a Gradescope "Export Submissions" folder: who handed in each submission folder.

Gradescope's export of a programming assignment is a folder (``assignment_<id>_export``, once
unzipped) holding ``submission_metadata.yml`` and one folder per submission
(``submission_<id>``), each with the files the student uploaded. The metadata is YAML as Ruby
writes it: every key is a symbol (``:submitters:``), times carry fractions and zones::

    submission_245806761:
      :submitters:
      - :name: Ada Lovelace
        :sid: '12345678'
        :email: ada@example.edu
      :created_at: 2024-03-01 22:14:05.123456000 -08:00
      :score: 10.0
      :status: processed
      :results: {...}     # the autograder's results.json, as graded then
      :history: [...]     # earlier submissions

``read_export(folder)`` returns one ``ExportedSubmission`` per listed submission, with its
folder and its submitters (several for a group submission); the batch grades the folders and
names students by these. Anything missing from the metadata (an email, a student id) is None.
"""
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import yaml

from grader.errors import GraderError

METADATA_NAME = "submission_metadata.yml"
_NOT_SUBMISSIONS = {"__macosx"}  # what unzipping on a Mac adds beside the submission folders


@dataclass(frozen=True)
class Submitter:
    name: str | None
    email: str | None
    sid: str | None  # the course's student id, as the roster gives it

    @property
    def label(self):
        """What to call the student: the name, else the email, else the student id."""
        return self.name or self.email or self.sid or "unknown submitter"


@dataclass(frozen=True)
class ExportedSubmission:
    key: str  # the submission's folder name, e.g. submission_245806761
    folder: Path
    submitters: tuple  # Submitter, one per member of a group
    created_at: datetime | None  # when it was handed in (time-zone aware when Gradescope says)

    @property
    def exists(self):
        return self.folder.is_dir()


@dataclass(frozen=True)
class GradescopeExport:
    folder: Path
    submissions: tuple  # ExportedSubmission, sorted by key
    unlisted: tuple  # folder names present in the export but absent from the metadata

    def by_key(self, key):
        return next(s for s in self.submissions if s.key == key)


class _MetadataLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading a tag it does not know (a Ruby class, say) as plain data
    instead of failing: only names, emails, ids and times are wanted."""


def _untagged(loader, _suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_MetadataLoader.add_multi_constructor("!", _untagged)
_MetadataLoader.add_multi_constructor("tag:", _untagged)


def read_export(folder):
    """Read the export at ``folder``: a GraderError if its metadata is missing or malformed."""
    folder = Path(folder)
    path = folder / METADATA_NAME
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise GraderError(f"no {METADATA_NAME}: is this a Gradescope \"Export Submissions\" "
                          "folder, unzipped?", path=folder) from None
    except (OSError, UnicodeDecodeError) as e:
        raise GraderError(f"cannot read it: {getattr(e, 'strerror', None) or e}", path=path) from None
    try:
        data = yaml.load(text, Loader=_MetadataLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise GraderError(f"not valid YAML: {getattr(e, 'problem', None) or e}", path=path,
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise GraderError("expected one entry per submission folder", path=path)
    submissions = tuple(_submission(folder, str(key), entry, path)
                        for key, entry in sorted(data.items(), key=lambda item: str(item[0])))
    listed = {s.key for s in submissions}
    unlisted = tuple(sorted(p.name for p in folder.iterdir()
                            if p.is_dir() and p.name not in listed and not p.name.startswith(".")
                            and p.name.lower() not in _NOT_SUBMISSIONS))
    return GradescopeExport(folder, submissions, unlisted)


def _submission(folder, key, entry, path):
    if "/" in key or "\\" in key or key in ("", ".", ".."):
        raise GraderError(f"{key!r} is not a submission folder name", path=path)
    if not isinstance(entry, dict):
        raise GraderError(f"{key}: expected its :submitters: and details", path=path)
    people = _get(entry, "submitters") or []
    if not isinstance(people, list):
        raise GraderError(f"{key}: :submitters: is not a list", path=path)
    submitters = tuple(Submitter(_text(_get(p, "name")), _text(_get(p, "email")),
                                 _text(_get(p, "sid")))
                       for p in people if isinstance(p, dict))
    return ExportedSubmission(key, folder / key, submitters, _time(_get(entry, "created_at")))


def _get(mapping, name):
    """A value under Ruby's symbol key (``:name``) or, failing that, the plain one."""
    if not isinstance(mapping, dict):
        return None
    return mapping.get(f":{name}", mapping.get(name))


def _text(value):
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _time(value):
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
