"""The course folder: where commands find a course's spec, inputs, expected outputs and class files.

A **course folder** holds ``cnngrade.toml`` or, without one, the spec itself (``assignment.toml``).
Commands use the nearest one, looking in the current folder and then in each folder above it, or
the one ``--course DIR`` names, so that ``--spec``, ``--inputs`` and ``--expected`` need not be
repeated on every call. ``cnngrade.toml`` is optional; every key in it is too::

    [course]
    spec = "assignment.toml"       # paths are relative to this file
    inputs = "input_files"
    expected = "expected"
    roster = "roster.csv"          # what `cnngrade batch` and `cnngrade export` use as --roster
    overrides = "overrides.csv"    # what `cnngrade batch` uses as --overrides

    [late]                         # the late policy (grader/course/late.py), here or in the spec
    due = "2026-10-01T23:59 +08:00"
    penalty_per_day = 0.1

Without ``spec``, the course's spec is the ``assignment.toml`` beside cnngrade.toml, or, if there is
none, cnngrade's own default assignment, whose inputs and expected outputs then come with it.

How a command's paths are chosen (:func:`course_paths`), each path separately:

1. an option given on the command line, as given (relative to the current folder);
2. else the course folder's file;
3. outside any course folder, with none of the assignment's options (``--spec``, ``--inputs``,
   ``--expected``) given: cnngrade's **default assignment**,
   installed with it (the repository's ``assignment.toml``, ``input_files/`` and ``expected/``;
   ``pip install`` puts a copy under ``<prefix>/share/cnngrade/default_assignment``), so an
   installed cnngrade works from any folder. It is said on stderr, with how to choose another;
4. outside any course folder with some options given, the others keep their plain defaults
   (``assignment.toml``, ``input_files``, ``expected`` here), and one that does not exist is an
   error naming ``--course`` and the options to give.

Files a command writes (``cnngrade inputs --out``, ``cnngrade expected --out``) go into the course
folder's, or into the current folder for the default assignment, which is never written to.
"""
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from grader.errors import GraderError, SpecError
from grader.installed import data_candidates

CONFIG_NAME = "cnngrade.toml"
SPEC_NAME = "assignment.toml"
INPUTS_NAME = "input_files"
EXPECTED_NAME = "expected"
# Where `pip install` puts the default assignment under a prefix (pyproject.toml's data-files).
COURSE_KEYS = ("spec", "inputs", "expected", "roster", "overrides")
CONFIG_TABLES = ("course", "late")

# The files a command can take from a course, and the option that names each on the command line.
ROLES = {
    "spec": "--spec",
    "inputs": "--inputs",
    "expected": "--expected",  # must exist (batch)
    "expected_if_present": "--expected",  # None without one (check: a student's self-check)
    "inputs_out": "--out",  # written to
    "expected_out": "--out",
    "roster": "--roster",
    "overrides": "--overrides",
    "config": None,  # cnngrade.toml itself, for its [late] table
}
_MUST_EXIST = {"spec", "inputs", "expected"}
ASSIGNMENT_ROLES = {"spec", "inputs", "expected", "expected_if_present", "inputs_out",
                    "expected_out"}


@dataclass(frozen=True)
class Course:
    """A course's files. ``root`` is the course folder, None for the default assignment outside
    any course folder; ``config`` its cnngrade.toml, if any."""

    root: Path | None
    spec: Path
    inputs: Path
    expected: Path
    config: Path | None = None
    roster: Path | None = None
    overrides: Path | None = None
    default_assignment: bool = False  # the spec, inputs and expected are cnngrade's own

    def path_for(self, role, plain_default=None):
        """The course's file for ``role`` (see ROLES); ``plain_default`` where the course has
        none to offer (a written folder of the default assignment outside a course)."""
        if role in ("inputs_out", "expected_out"):
            if self.root is None:
                return plain_default
            target = self.inputs if role == "inputs_out" else self.expected
            if self.default_assignment and not target.is_relative_to(self.root):
                # cnngrade's own files are never written to: the course folder gets its own.
                return self.root / (INPUTS_NAME if role == "inputs_out" else EXPECTED_NAME)
            return target
        if role == "expected_if_present":
            return self.expected if self.expected.is_dir() else None
        return getattr(self, role)


@dataclass(frozen=True)
class CoursePaths:
    """What :func:`course_paths` chose: a value per keyword, and what to tell the user."""

    values: dict
    course: Course | None
    notices: tuple = field(default=())


def course_paths(roles, given, defaults, course_dir=None, start=None):
    """Choose each path of a command (see the module docstring).

    ``roles``: keyword -> role (ROLES); ``given``: the keywords the command line gave, with their
    values; ``defaults``: each keyword's plain default; ``course_dir``: ``--course``; ``start``:
    where the search for a course folder begins [the current folder].
    """
    start = Path.cwd() if start is None else Path(start)
    course = open_course(course_dir) if course_dir is not None else find_course(start)
    notices = []
    assignment_keys = {key for key, role in roles.items() if role in ASSIGNMENT_ROLES}
    if course is None and assignment_keys and not given.keys() & assignment_keys:
        course = default_course()
        notices.append(f"no course folder here or above ({CONFIG_NAME} or {SPEC_NAME} in "
                       f"{start}): using cnngrade's default assignment; give --course DIR or "
                       "--spec FILE for another")
    values = {}
    for key, role in roles.items():
        if key in given:
            values[key] = given[key]
        elif course is not None:
            values[key] = course.path_for(role, defaults.get(key))
        else:
            values[key] = defaults.get(key)
            if role in _MUST_EXIST and values[key] is not None and not Path(values[key]).exists():
                raise GraderError(
                    f"{values[key]} not found, and this is not a course folder (no {CONFIG_NAME} "
                    f"or {SPEC_NAME} in {start} or above): run in the course's folder, or give "
                    f"--course DIR or {ROLES[role]}")
    return CoursePaths(values, course, tuple(notices))


def find_course(start):
    """The course of the nearest course folder at or above ``start``, or None."""
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file() or (folder / SPEC_NAME).is_file():
            return open_course(folder)
    return None


def open_course(folder):
    """The course in ``folder``: its cnngrade.toml, else its assignment.toml. A GraderError if
    it has neither, or if cnngrade.toml is malformed (a SpecError naming the key)."""
    folder = Path(folder)
    config = folder / CONFIG_NAME
    if config.is_file():
        return _configured_course(folder, config)
    if (folder / SPEC_NAME).is_file():
        return Course(folder, folder / SPEC_NAME, folder / INPUTS_NAME, folder / EXPECTED_NAME)
    if not folder.is_dir():
        raise GraderError("no such course folder (--course)", path=folder)
    raise GraderError(f"not a course folder (--course): it holds neither {CONFIG_NAME} nor "
                      f"{SPEC_NAME}", path=folder)


def _configured_course(folder, config):
    table = _course_table(config)

    def path(key):
        return folder / table[key] if key in table else None

    spec = path("spec")
    if spec is None and not (folder / SPEC_NAME).is_file():
        default = default_course()
        return Course(folder, default.spec, path("inputs") or default.inputs,
                      path("expected") or default.expected, config, path("roster"),
                      path("overrides"), default_assignment=True)
    return Course(folder, spec or folder / SPEC_NAME, path("inputs") or folder / INPUTS_NAME,
                  path("expected") or folder / EXPECTED_NAME, config, path("roster"),
                  path("overrides"))


def _course_table(config):
    """cnngrade.toml's ``[course]`` table, checked (``[late]`` is late.py's to check)."""
    try:
        data = tomllib.loads(config.read_bytes().decode("utf-8"))
    except OSError as e:
        raise SpecError(f"cannot read it: {e.strerror}", path=config) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError(f"not valid TOML: {e}", path=config) from None
    for key in data:
        if key not in CONFIG_TABLES:
            raise SpecError(f"{key}: unknown table; expected {' or '.join(CONFIG_TABLES)}",
                            path=config)
    table = data.get("course", {})
    if not isinstance(table, dict):
        raise SpecError("course must be a table", path=config)
    for key, value in table.items():
        if key not in COURSE_KEYS:
            raise SpecError(f"course.{key}: unknown key; expected one of {', '.join(COURSE_KEYS)}",
                            path=config)
        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"course.{key}: must be a path, got {value!r}", path=config)
    return table


def default_course():
    """cnngrade's default assignment as a course with no folder of its own (see the module
    docstring); a GraderError saying where it looked if this installation lacks it."""
    candidates = default_assignment_candidates()
    for folder in candidates:
        if ((folder / SPEC_NAME).is_file() and (folder / INPUTS_NAME).is_dir()
                and (folder / EXPECTED_NAME).is_dir()):
            return Course(None, folder / SPEC_NAME, folder / INPUTS_NAME, folder / EXPECTED_NAME,
                          default_assignment=True)
    raise GraderError("cnngrade's default assignment is not installed (looked in "
                      f"{', '.join(str(c) for c in candidates)}): give --course DIR or --spec FILE")


def default_assignment_candidates():
    """The folders searched for the default assignment: the source checkout this code runs from
    (an editable install), then each installation prefix's share/cnngrade/default_assignment."""
    return data_candidates("", "default_assignment")
