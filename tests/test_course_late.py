"""The late policy: the spec's [late] table, and the penalty for a submission time."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from grader.course.late import LatePolicy, load_late_policy, parse_late_table
from grader.errors import SpecError

SGT = timezone(timedelta(hours=8))
DUE = datetime(2026, 10, 1, 23, 59, tzinfo=SGT)


def policy(**kwargs):
    return LatePolicy(**{"due": DUE, "penalty_per_unit": 0.1, **kwargs})


def at(**delta):
    return DUE + timedelta(**delta)


@pytest.mark.parametrize("submitted, units, final", [
    (at(hours=-5), 0, 8.0),  # early
    (at(), 0, 8.0),  # exactly at the due time
    (at(seconds=1), 1, 7.0),  # a second late is a started day
    (at(hours=23, minutes=59), 1, 7.0),
    (at(days=1), 1, 7.0),
    (at(days=1, seconds=1), 2, 6.0),
    (at(days=3, hours=2), 4, 4.0),
    (at(days=30), 30, 0.0),  # never below 0
])
def test_penalty_per_started_day_as_a_fraction_of_the_maximum(submitted, units, final):
    result = policy().assess(submitted, 8.0, 10.0)
    assert (result.units, result.final_score, result.raw_score) == (units, final, 8.0)
    assert result.points == 8.0 - final
    assert result.late == (units > 0)


def test_fractions_add_up_without_float_noise():
    result = policy().assess(at(days=2, hours=1), 10.0, 10.0)
    assert (result.fraction, result.points, result.final_score) == (0.3, 3.0, 7.0)


def test_the_same_moment_in_another_time_zone_is_the_same_lateness():
    utc_moment = datetime(2026, 10, 1, 16, 0, tzinfo=timezone.utc)  # 00:00 SGT on Oct 2
    assert policy().assess(utc_moment, 10.0, 10.0).late_by == timedelta(minutes=1)


def test_grace_only_decides_whether_it_is_late():
    graced = policy(grace=timedelta(minutes=15))
    inside = graced.assess(at(minutes=15), 10.0, 10.0)
    assert (inside.units, inside.final_score, inside.within_grace, inside.late) == (0, 10.0, True, False)
    outside = graced.assess(at(minutes=16), 10.0, 10.0)
    assert (outside.units, outside.late_by, outside.final_score) == (1, timedelta(minutes=16), 9.0)
    assert not policy().assess(at(), 10.0, 10.0).within_grace


def test_per_hour_and_cap():
    hourly = policy(unit="hour", penalty_per_unit=0.05, cap=0.5)
    assert hourly.assess(at(minutes=61), 10.0, 10.0).final_score == 9.0  # 2 started hours
    capped = hourly.assess(at(hours=30), 10.0, 10.0)
    assert (capped.units, capped.fraction, capped.final_score) == (30, 0.5, 5.0)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="has no time zone"):
        policy().assess(datetime(2026, 10, 2), 1.0, 1.0)
    with pytest.raises(ValueError, match="due=2026-10-01T23:59:00 has no time zone"):
        LatePolicy(datetime(2026, 10, 1, 23, 59), 0.1)
    with pytest.raises(ValueError, match=r"penalty_per_unit=10 is not a fraction"):
        policy(penalty_per_unit=10)


@pytest.mark.parametrize("due", ["2026-10-01T23:59 +08:00", "2026-10-01 23:59+08:00",
                                 "2026-10-01T23:59:00+0800", "2026-10-01T15:59Z"])
def test_due_strings(due):
    parsed = parse_late_table({"due": due, "penalty_per_day": 0.1})
    assert parsed.due == DUE and parsed.unit == "day" and parsed.cap == 1.0


def write_spec(tmp_path, table):
    path = tmp_path / "course.toml"
    path.write_text("[assignment]\nname = \"x\"\n\n" + table, encoding="utf-8")
    return path


def test_load_from_toml(tmp_path):
    path = write_spec(tmp_path, "[late]\ndue = 2026-10-01T23:59:00+08:00\npenalty_per_hour = 0.02\n"
                                "grace_minutes = 10\ncap = 0.6\n")
    loaded = load_late_policy(path)
    assert loaded == LatePolicy(DUE, 0.02, "hour", timedelta(minutes=10), 0.6)
    assert load_late_policy(write_spec(tmp_path, "")) is None


@pytest.mark.parametrize("table, message", [
    ('due = "2026-10-01T23:59"\npenalty_per_day = 0.1',
     "late.due: '2026-10-01T23:59' has no time zone; add its UTC offset, e.g. \"2026-10-01T23:59 +08:00\""),
    ("due = 2026-10-01T23:59:00\npenalty_per_day = 0.1", "late.due: 2026-10-01T23:59:00 has no time zone"),
    ("due = 2026-10-01\npenalty_per_day = 0.1", "late.due: 2026-10-01 has no time of day"),
    ('due = "next friday"\npenalty_per_day = 0.1', "late.due: 'next friday' is not a date and time"),
    ('due = "2026-02-30T10:00Z"\npenalty_per_day = 0.1', "late.due: '2026-02-30T10:00Z': day is out of range"),
    ('due = "2026-10-01T23:59Z"', "late: give exactly one of penalty_per_day and penalty_per_hour (found 0)"),
    ('due = "2026-10-01T23:59Z"\npenalty_per_day = 0.1\npenalty_per_hour = 0.01', "(found 2)"),
    ('due = "2026-10-01T23:59Z"\npenalty_per_day = 10', "late.penalty_per_day: 10 is a fraction of the maximum score"),
    ('due = "2026-10-01T23:59Z"\npenalty_per_day = 0.1\ngrace_minutes = -5', "late.grace_minutes: must be a number >= 0"),
    ('due = "2026-10-01T23:59Z"\npenalty_per_day = 0.1\ncap = "half"', "late.cap: must be a number >= 0, got 'half'"),
    ('penalty_per_day = 0.1', "late.due is missing"),
    ('due = "2026-10-01T23:59Z"\npenalty_per_week = 0.1', "late.penalty_per_week: unknown key"),
])
def test_bad_tables_name_the_file_and_key(tmp_path, table, message):
    path = write_spec(tmp_path, "[late]\n" + table + "\n")
    with pytest.raises(SpecError) as e:
        load_late_policy(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)


def test_unreadable_course_file(tmp_path):
    with pytest.raises(SpecError, match=re.escape("cannot read the course file")):
        load_late_policy(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[late\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_late_policy(bad)
