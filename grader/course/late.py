"""The late policy: from the due time and a submission's time to a penalty and a final score.

The policy is an optional ``[late]`` table of the course's TOML file (the spec, or a course file
beside it)::

    [late]
    due = "2026-10-01T23:59 +08:00"  # ISO 8601 with its UTC offset (or Z); a TOML offset
                                     # date-time (due = 2026-10-01T23:59:00+08:00) works too
    penalty_per_day = 0.10           # or penalty_per_hour: a fraction of the maximum score
    grace_minutes = 15               # optional, default 0
    cap = 0.5                        # optional, default 1: the largest total penalty
    timezone = "Asia/Singapore"      # optional: the zone of submission times an LMS writes
                                     # without one (Moodle's grading worksheet) [default: due's]

What the numbers mean (decided here, so every report agrees):

- A penalty is a **fraction of the assignment's maximum score** per started day (or hour), so
  the same table fits a 10-point and a 100-point assignment: ``0.10`` per day on a 10-point
  assignment takes 1 point a day. It is deducted from the score, which never goes below 0.
- Lateness is counted in **started** units, as "10% per day or part of a day" reads: one minute
  late and 23 hours late are both one day; exactly at the due time is on time.
- The **grace** period only decides whether a submission is late: one submitted within it is on
  time; one submitted after it is late from the due time (16 minutes late with a 15-minute grace
  is one day late, not one minute).
- ``cap`` bounds the total penalty (``0.5``: at most half the maximum score).

A due time must carry its time zone: "23:59" alone means a different moment to the server, the
instructor and the students. Submission times an LMS writes without a zone (Moodle's grading
worksheet writes them in the downloading user's zone) are read in ``timezone`` (an IANA name,
so that summer time is right), else at the due time's UTC offset.
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from grader.errors import SpecError

UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
_KEYS = ("due", "penalty_per_day", "penalty_per_hour", "grace_minutes", "cap", "timezone")
_DUE = re.compile(r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*"
                  r"(Z|[+-]\d{2}:?\d{2})?\s*\Z", re.IGNORECASE)
_DECIMALS = 10  # penalties and scores are rounded here: 3 * 0.1 is 0.3, not 0.30000000000000004


@dataclass(frozen=True)
class LatePenalty:
    """What the policy does to one submission.

    ``late_by``: how long after the due time it came (zero if not after). ``units``: the days
    or hours charged (0 when on time or within the grace period). ``fraction``: the penalty as
    a fraction of the maximum score, after the cap. ``points``: what was deducted (at most the
    score). ``final_score = raw_score - points``.
    """

    submitted_at: datetime
    late_by: timedelta
    units: int
    fraction: float
    points: float
    raw_score: float
    final_score: float

    @property
    def late(self):
        return self.units > 0

    @property
    def within_grace(self):
        return self.late_by > timedelta(0) and self.units == 0


@dataclass(frozen=True)
class LatePolicy:
    due: datetime  # aware
    penalty_per_unit: float  # fraction of the maximum score per started unit
    unit: str = "day"
    grace: timedelta = timedelta(0)
    cap: float = 1.0
    timezone: str | None = None  # IANA name for times written without a zone

    def __post_init__(self):
        if self.due.tzinfo is None or self.due.utcoffset() is None:
            raise ValueError(f"due={self.due.isoformat()} has no time zone")
        if self.unit not in UNITS:
            raise ValueError(f"unit={self.unit!r}; expected one of {', '.join(UNITS)}")
        if not 0 <= self.penalty_per_unit <= 1:
            raise ValueError(f"penalty_per_unit={self.penalty_per_unit} is not a fraction in [0, 1]")
        if self.grace < timedelta(0):
            raise ValueError(f"grace={self.grace} is negative")
        if not 0 <= self.cap <= 1:
            raise ValueError(f"cap={self.cap} is not a fraction in [0, 1]")
        if self.timezone is not None:
            ZoneInfo(self.timezone)  # ZoneInfoNotFoundError (a KeyError) for an unknown name

    def localize(self, moment):
        """``moment`` (a datetime without a zone) in the policy's time zone: ``timezone``, else
        the due time's UTC offset."""
        zone = ZoneInfo(self.timezone) if self.timezone else self.due.tzinfo
        return moment.replace(tzinfo=zone)

    def assess(self, submitted_at, score, max_score):
        """The :class:`LatePenalty` for a submission made at ``submitted_at`` (an aware
        datetime) that scored ``score`` of ``max_score``."""
        if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
            raise ValueError(f"submitted_at={submitted_at.isoformat()} has no time zone")
        late_by = max(submitted_at - self.due, timedelta(0))
        units = 0
        if late_by > self.grace:
            units = -(-late_by // UNITS[self.unit])  # started units: ceil
        fraction = round(min(self.cap, units * self.penalty_per_unit), _DECIMALS)
        points = round(min(fraction * max_score, score), _DECIMALS) if units else 0.0
        return LatePenalty(submitted_at, late_by, units, fraction, points, float(score),
                           round(score - points, _DECIMALS))


def load_late_policy(path):
    """The ``[late]`` table of the TOML file at ``path`` as a LatePolicy; None without one.

    Raises SpecError naming the file and the key for anything it cannot use.
    """
    try:
        data = tomllib.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as e:
        raise SpecError(f"cannot read the course file: {e.strerror}", path=path) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError(f"not valid TOML: {e}", path=path) from None
    if "late" not in data:
        return None
    try:
        return parse_late_table(data["late"])
    except SpecError as e:
        e.path = path
        raise


def parse_late_table(table):
    """A LatePolicy from the parsed ``[late]`` table."""
    if not isinstance(table, dict):
        raise SpecError("late must be a table")
    for key in table:
        if key not in _KEYS:
            raise SpecError(f"late.{key}: unknown key; expected one of {', '.join(_KEYS)}")
    rates = [key for key in ("penalty_per_day", "penalty_per_hour") if key in table]
    if len(rates) != 1:
        raise SpecError("late: give exactly one of penalty_per_day and penalty_per_hour "
                        f"(found {len(rates)})")
    return LatePolicy(
        due=_due(table),
        penalty_per_unit=_fraction(table, rates[0], None),
        unit=rates[0].rsplit("_", 1)[1],
        grace=timedelta(minutes=_number(table, "grace_minutes", 0.0)),
        cap=_fraction(table, "cap", 1.0),
        timezone=_zone(table))


def _zone(table):
    value = table.get("timezone")
    if value is None:
        return None
    try:
        ZoneInfo(value if isinstance(value, str) else "")
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"late.timezone: {value!r} is not a time zone name such as "
                        "\"Asia/Singapore\" or \"Europe/Berlin\"") from None
    return value


def _due(table):
    if "due" not in table:
        raise SpecError("late.due is missing")
    value = table["due"]
    if isinstance(value, datetime):
        due = value
    elif isinstance(value, date):
        raise SpecError(f"late.due: {value.isoformat()} has no time of day; write e.g. "
                        f"\"{value.isoformat()}T23:59 +08:00\"")
    elif isinstance(value, str):
        match = _DUE.match(value)
        if not match:
            raise SpecError(f"late.due: {value!r} is not a date and time such as "
                            "\"2026-10-01T23:59 +08:00\"")
        day, time, offset = match.groups()
        if offset is None:
            raise SpecError(f"late.due: {value!r} has no time zone; add its UTC offset, e.g. "
                            f"\"{day}T{time} +08:00\" (or Z for UTC)")
        offset = "+00:00" if offset.upper() == "Z" else offset
        if ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        try:
            due = datetime.fromisoformat(f"{day}T{time}{offset}")
        except ValueError as e:
            raise SpecError(f"late.due: {value!r}: {e}") from None
    else:
        raise SpecError(f"late.due: must be a date and time, got {value!r}")
    if due.tzinfo is None:
        raise SpecError(f"late.due: {due.isoformat()} has no time zone; add its UTC offset, "
                        "e.g. 2026-10-01T23:59:00+08:00")
    return due


def _number(table, key, default):
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise SpecError(f"late.{key}: must be a number >= 0, got {value!r}")
    return float(value)


def _fraction(table, key, default):
    value = _number(table, key, default)
    if value > 1:
        raise SpecError(f"late.{key}: {value:g} is a fraction of the maximum score, at most 1 "
                        f"(write 0.1 for 10%)")
    return value
