"""Per-student inputs: every student's own input files, drawn from a course secret and their id.

A student's inputs have the spec's shapes, parameters and value recipes; only the values differ.
They come from a seed that nobody can compute without the secret:

    seed = HMAC-SHA256(secret, assignment name + "\\0" + student id [+ "\\0" + "draw <k>"])

read as a 256-bit big-endian integer (draw 0 has no suffix; a later draw ``k`` exists for the rare
student whose first draw cannot catch a mistake the shared inputs catch: see
grader/diagnosis/draws.py). Each input file then draws from
``numpy.random.default_rng([seed, key of the file name])``, as the shared inputs draw from
``default_rng([spec seed, key of the file name])``. HMAC-SHA256 is the same everywhere and
NumPy's SeedSequence and PCG64 are platform-independent, so the same secret and id give the same
inputs on every machine (NumPy's distributions may change between its feature releases: the
tests pin a student's inputs, so such a change shows up as a failing test, not as silently
different inputs).

A ``linspace(a, b)`` recipe is the same for every seed, so per student it is drawn
``uniform(a, b)`` instead: same range, values of one's own.

The secret never leaves this module except as an HMAC key: :class:`Secret` hides its bytes from
``repr`` and ``str``, errors name the secret's file, never its content, and what may be published
about a student's inputs is :func:`seed_fingerprint`, a hash of the derived seed.
"""
import functools
import hashlib
import hmac
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grader.assignment.generate import input_name_key
from grader.assignment.spec import ValueRecipe
from grader.errors import GraderError

MIN_SECRET_BYTES = 32
# An estimate of a secret's randomness (its length times the entropy of its byte frequencies)
# below which it is refused as too regular. 32 random bytes estimate ~150 bits, 32 hex digits
# ~115, a word repeated to 32 bytes or 'aaaa...' far less.
MIN_SECRET_BITS = 100
MAKE_SECRET = "python -c 'import secrets; print(secrets.token_hex(32))' > secret.key"

# Roster columns that hold the id a submission's folder or zip is named by, in order of
# preference (compared case-insensitively, with _ and - read as spaces).
ID_COLUMNS = ("student id", "sis user id", "id", "login", "sis login id", "login id")
_UNSAFE_ID = re.compile(r"[/\\\x00-\x1f\x7f]")


class Secret:
    """The course secret's bytes, kept out of every repr, message and log."""

    __slots__ = ("_key",)

    def __init__(self, key):
        self._key = bytes(key)

    def hmac_sha256(self, message):
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def __repr__(self):
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __getstate__(self):  # worker processes get it through a pipe, never a file
        return self._key

    def __setstate__(self, key):
        self._key = key


def read_secret(path):
    """The :class:`Secret` in the file at ``path``; a GraderError if it is missing, unreadable,
    shorter than MIN_SECRET_BYTES or too regular to be random. Trailing line ends are not part
    of it (a secret written by ``echo`` or an editor)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GraderError(f"no secret file; make one with: {MAKE_SECRET}", path=path) from None
    except OSError as e:
        raise GraderError(f"cannot read the secret file: {e.strerror}", path=path) from None
    key = data.rstrip(b"\r\n")
    if len(key) < MIN_SECRET_BYTES:
        raise GraderError(f"the secret is {len(key)} bytes long; at least {MIN_SECRET_BYTES} are "
                          f"needed. Make one with: {MAKE_SECRET}", path=path)
    if _period(key) < len(key) or estimated_bits(key) < MIN_SECRET_BITS:
        raise GraderError("the secret is too regular to be random (a repeated pattern or few "
                          f"distinct characters). Make one with: {MAKE_SECRET}", path=path)
    return Secret(key)


def estimated_bits(key):
    """Length times the Shannon entropy of the byte frequencies: a rough upper estimate of the
    randomness in ``key``, enough to refuse what is plainly not random."""
    counts = Counter(key)
    n = len(key)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values())


def _period(key):
    """The length of the shortest string that ``key`` repeats (its own length if none)."""
    for length in range(1, len(key) // 2 + 1):
        if len(key) % length == 0 and key == key[:length] * (len(key) // length):
            return length
    return len(key)


def roster_ids(path):
    """The student ids of the roster CSV at ``path``, in its order.

    The id column is the first of ID_COLUMNS present (``student_id``, Canvas's ``SIS User ID``,
    ``id``, ``login``, ...); blank ids (Canvas's "Points Possible" row) are skipped. Refused with a
    GraderError naming the line: no id column, an id that cannot name a folder, an id twice
    (compared case-insensitively, as submission folders are), an empty roster.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise GraderError("no roster file here", path=path) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise GraderError(f"cannot read the roster as CSV: {e}", path=path) from None
    by_name = {_column_key(c): c for c in reversed(table.columns)}
    column = next((by_name[name] for name in ID_COLUMNS if name in by_name), None)
    if column is None:
        raise GraderError(f"no id column in the roster (looked for {', '.join(ID_COLUMNS)}; found "
                          f"{', '.join(map(str, table.columns))})", path=path)
    ids, seen = [], {}
    for line, value in enumerate(table[column], start=2):
        student_id = value.strip()
        if not student_id:
            continue
        if _UNSAFE_ID.search(student_id) or student_id.startswith(".") or len(student_id) > 100:
            raise GraderError(f"id {student_id!r} cannot name a folder (no slashes, control "
                              "characters or leading dot; at most 100 characters)",
                              path=path, line=line)
        key = student_id.casefold()
        if key in seen:
            raise GraderError(f"id {student_id!r} is already on line {seen[key]} (ids are compared "
                              "without case, as submission folders are)", path=path, line=line)
        seen[key] = line
        ids.append(student_id)
    if not ids:
        raise GraderError(f"the roster's column {column!r} holds no id", path=path)
    return ids


def _column_key(name):
    return re.sub(r"[_\-\s]+", " ", str(name)).strip().casefold()


def derive_seed(secret, assignment_name, student_id, draw=0):
    """The student's seed for draw ``draw``: HMAC-SHA256 of the assignment name and the id under
    the secret, as a 256-bit integer."""
    message = f"{assignment_name}\0{student_id}" + (f"\0draw {draw}" if draw else "")
    return int.from_bytes(secret.hmac_sha256(message.encode("utf-8")), "big")


def seed_fingerprint(seed):
    """16 hex digits of sha256 of the seed: names the inputs in results and reports without
    revealing the seed (let alone the secret)."""
    return hashlib.sha256(seed.to_bytes(32, "big")).hexdigest()[:16]


@dataclass(frozen=True)
class StudentDraw:
    """One draw of a student's inputs: ``inputs`` maps input file names (without .csv) to arrays
    in the file layout, as grader.assignment.generate.make_inputs does for the shared ones (a
    :class:`DrawnInputs`, drawn as they are read)."""

    student_id: str
    draw: int
    fingerprint: str
    inputs: Mapping


def student_draw(assignment, secret, student_id, draw=0):
    """Draw ``draw`` of ``student_id``'s inputs (see the module docstring)."""
    seed = derive_seed(secret, assignment.name, student_id, draw)
    return StudentDraw(student_id, draw, seed_fingerprint(seed),
                       DrawnInputs(assignment.inputs, seed))


class DrawnInputs(Mapping):
    """A draw's input arrays by file name, each drawn from its own stream the first time it is
    read and then kept: grading a correct submission reads only its dropout inputs, so the other
    files are never drawn (each costs a generator's construction)."""

    def __init__(self, specs, seed):
        self._specs = {spec.file: spec for spec in specs}
        self._seed = seed
        self._arrays = {}

    def __getitem__(self, file):
        array = self._arrays.get(file)
        if array is None:
            spec = self._specs[file]
            recipe = spec.values
            if recipe.kind == "linspace":  # the same for every seed: draw from its range instead
                recipe = ValueRecipe("uniform", min(recipe.a, recipe.b), max(recipe.a, recipe.b))
            array = self._arrays[file] = recipe.make(spec.shape, _file_rng(self._seed, file))
        return array

    def __iter__(self):
        return iter(self._specs)

    def __len__(self):
        return len(self._specs)


def _file_rng(seed, file):
    """Each input file draws from its own stream, keyed as the shared inputs key theirs:
    ``default_rng([seed, name key])``, given as the uint32 words NumPy would make of that list
    (the same SeedSequence, built in half the time)."""
    return np.random.default_rng(np.array(_words(seed) + _name_key_words(file), dtype=np.uint32))


@functools.lru_cache(maxsize=256)
def _name_key_words(file):
    return _words(input_name_key(file))


def _words(n):
    """The little-endian 32-bit words of the integer ``n`` >= 0, as SeedSequence splits it."""
    words = [n & 0xFFFFFFFF]
    while n := n >> 32:
        words.append(n & 0xFFFFFFFF)
    return words
