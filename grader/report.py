"""HTML reports: the student's feedback page and the instructor's class report.

Two phases, as coverage.py builds its HTML report: first the report's data, as plain dataclasses
computed here (every number, label, bar length and link), then one jinja2 Environment renders them
through templates that only loop and test. The Environment (grader/templates, autoescape on,
StrictUndefined) is built once per process and compiles each template once, so a feedback page
renders in well under a millisecond.

What a student controls (the id, which comes from a folder or zip name; messages and notes, which
quote file names and tokens) reaches the page only through autoescaping, and reaches a link only
URL-encoded after a fixed ``feedback/`` prefix. The pages need no JavaScript and load nothing: the
CSS is inlined, the charts are inline SVG and CSS bars computed here. The timestamp is passed in,
so the same results always render to the same bytes.

Student-facing pages never show flags (they name other students) nor expected values; instructor
pages may show expected values when ``show_expected`` is set and the details carry them.
"""
import math
import re
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import jinja2

from .atomic import atomic_text_writer, write_text_atomic
from .compare import fraction_text
from .results import STATUSES

FEEDBACK_DIR = "feedback"
REPORT_NAME = "report.html"

STATUS_LABELS = {"pass": "pass", "fail": "fail", "error": "error", "missing": "missing",
                 "unchecked": "not checked"}
# A glyph per status, so the student table reads in black and white (print) as well as in colour.
STATUS_GLYPHS = {"pass": "\u2713", "fail": "\u2717", "error": "!", "missing": "\u2013",
                 "unchecked": "?"}
FLAG_TITLES = {
    "identical_dropout_mask": "identical dropout mask",
    "copied_expected": "copy of the expected file",
}
FAILING = ("fail", "error", "missing")

# Feedback file names: what survives every file system and URL unchanged.
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_MAX_NAME_CHARS = 100
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}

# Histogram geometry (SVG user units).
HIST_WIDTH = 640
HIST_HEIGHT = 300
HIST_LEFT = 36  # room for the y-axis labels
HIST_TOP = 42  # room for the mean's label and the count above the tallest bar
HIST_BOTTOM = 40  # room for the bin labels and the axis title
TOP_FAILURES = 5  # failure groups in the overview, next to the histogram
HARDEST_OUTPUTS = 3
HIST_MAX_UNIT_BINS = 21  # one bin per point up to a 20-point assignment; 10% bins beyond


# --------------------------------------------------------------------------- data: feedback page

@dataclass(frozen=True)
class Detail:
    """One labelled figure behind a verdict, e.g. ("Greatest absolute difference", "3.1e-04 at ...")."""

    label: str
    value: str


@dataclass(frozen=True)
class OutputRow:
    """One output of one submission, as the feedback page shows it."""

    number: int  # 1-based position in the spec; the class report's columns use the same numbers
    output: str
    problem: str
    status: str
    status_label: str
    score: str  # "1 / 1", or "\u2013" for an unchecked output (worth nothing either way)
    message: str
    diagnosis: str | None
    explanation: str | None  # the likely cause: the diagnosis's own words, or the catalogue's
    details: tuple  # of Detail
    open: bool  # details shown; a passing output's are folded away (an HTML <details> element)


@dataclass(frozen=True)
class ProblemGroup:
    name: str
    rows: tuple  # of OutputRow


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class FeedbackPage:
    """Everything the feedback page shows, computed; the template only lays it out."""

    id: str
    assignment: str
    generated_at: str
    score: str
    max_score: str
    percent: str
    percent_value: float  # 0-100, for the score bar
    full_marks: bool
    status_counts: tuple  # of StatusCount, only the statuses that occur
    problems: tuple  # of ProblemGroup
    notes: tuple  # of str
    error: str | None
    checked_expected: bool
    unchecked: int  # outputs whose correctness was not checked (no expected/)
    show_expected: bool
    tolerance_rule: str


# --------------------------------------------------------------------------- data: class report

@dataclass(frozen=True)
class StudentRef:
    """A student as a link target: ``href`` is None when there is no feedback page to link to."""

    id: str
    href: str | None


@dataclass(frozen=True)
class Summary:
    students: int
    max_score: str
    mean_score: str
    mean_percent: str
    median_percent: str
    full_marks: int
    errors: int
    flagged: int


@dataclass(frozen=True)
class HistogramBin:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    label_x: float  # centre of the bar, for the texts
    count_y: float
    top: bool  # the full-marks bin


@dataclass(frozen=True)
class Gridline:
    y: float
    label_y: float
    label: str


@dataclass(frozen=True)
class Histogram:
    """A bar chart of the class's scores, laid out in SVG units."""

    bins: tuple  # of HistogramBin
    width: int
    height: int
    left: float
    right: float
    baseline: float
    label_y: float
    tick_x: float
    title_x: float
    axis_title: str
    axis_title_y: float
    gridlines: tuple  # of Gridline
    mean_x: float | None  # None for an empty class
    mean_top: float
    mean_label_y: float
    mean_label: str
    total: int


@dataclass(frozen=True)
class Segment:
    status: str
    label: str
    count: int
    width: str  # CSS percentage of the bar, e.g. "62.5%"


@dataclass(frozen=True)
class OutputStat:
    number: int
    output: str
    problem: str
    points: str
    passed: int
    students: int
    pass_rate: str
    segments: tuple  # of Segment: pass, fail, error, missing, unchecked (those that occur)
    top_diagnosis: str | None


@dataclass(frozen=True)
class FailureGroup:
    """Students whose output ``output`` failed the same way (same status and diagnosis)."""

    count: int
    share: str  # of the class, e.g. "38%"
    output: str
    number: int
    status: str
    status_label: str
    diagnosis: str | None
    explanation: str
    students: tuple  # of StudentRef


@dataclass(frozen=True)
class DiagnosisCount:
    code: str
    explanation: str
    checks: int
    students: int
    outputs: str  # the outputs where it was found


@dataclass(frozen=True)
class FlagGroup:
    code: str
    title: str
    output: str
    students: tuple  # of StudentRef
    message: str


@dataclass(frozen=True)
class ErrorRow:
    student: StudentRef
    error: str


@dataclass(frozen=True)
class Cell:
    status: str
    glyph: str
    title: str


@dataclass(frozen=True)
class StudentRow:
    student: StudentRef
    score: str
    percent: str
    cells: tuple  # of Cell, one per output in spec order
    flags: tuple  # of str (flag titles)
    error: bool


@dataclass(frozen=True)
class OutputHeader:
    number: int
    output: str


@dataclass(frozen=True)
class ClassReport:
    """Everything the class report shows, computed; the template only lays it out."""

    assignment: str
    generated_at: str
    summary: Summary
    histogram: Histogram
    outputs: tuple  # of OutputStat
    output_headers: tuple  # of OutputHeader
    failures: tuple  # of FailureGroup
    diagnoses: tuple  # of DiagnosisCount
    flags: tuple  # of FlagGroup
    errors: tuple  # of ErrorRow
    students: tuple  # of StudentRow, by id
    students_by_score: tuple  # of StudentRow, lowest score first
    feedback_links: bool
    top_failures: tuple = ()  # the first few failure groups, for the overview
    hardest: tuple = ()  # of OutputStat: the outputs fewest students passed, for the overview
    statuses: tuple = field(default_factory=tuple)  # legend: (status, glyph, label)


# --------------------------------------------------------------------------- helpers

def _points(value):
    """A score for display: at most 2 decimals, no trailing zeros (7, 0.33)."""
    if value is None:
        return "\u2013"
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pct(value, digits=0):
    return f"{value:.{digits}f}%"


def _share(part, whole):
    return _pct(100.0 * part / whole) if whole else "0%"


def _fmt_index(index):
    if index is None:
        return None
    items = list(index) if isinstance(index, (list, tuple)) else [index]
    return "(" + ", ".join(str(i) for i in items) + ("," if len(items) == 1 else "") + ")"


def _sci(value):
    if value is None:
        return "unbounded"
    value = float(value)
    if not math.isfinite(value):
        return "unbounded"
    return "0" if value == 0 else f"{value:.1e}"


def _num(value):
    return value is not None and isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=256)
def explanation(code):
    """What a diagnosis code means, from grader.diagnose when it is available; None otherwise."""
    if not code:
        return None
    try:
        from .diagnose import explain
    except ImportError:
        return None
    try:
        found = explain(code)
    except Exception:  # an unknown code, or a catalogue still being written: show the code alone
        return None
    message = getattr(found, "message", None)
    return str(message) if message else None


def feedback_names(ids):
    """A safe, distinct file name (``<name>.html``) for each id in ``ids``, in the same order.

    Ids come from folder and zip names, so they may hold anything a file name can. A name keeps
    ``[A-Za-z0-9._-]`` and turns every other character into ``_``; it never starts with a dot, is
    never a Windows device name, and is cut to 100 characters. Names that would collide (also
    case-insensitively, for macOS and Windows) get ``-2``, ``-3``, ...: ids that are safe names
    already keep theirs, the others follow in id order, so the same ids always get the same names
    whatever order they come in.
    """
    ids = [str(i) for i in ids]
    bases = []
    for student_id in ids:
        base = _UNSAFE_NAME_CHARS.sub("_", student_id)[:_MAX_NAME_CHARS]
        if not base or base.startswith("."):
            base = "_" + base
        if base.split(".")[0].upper() in _WINDOWS_RESERVED:
            base = "_" + base
        bases.append(base)
    names = [None] * len(ids)
    taken = set()
    # Ids that are already safe names keep them; then the others, in id order.
    order = sorted(range(len(ids)), key=lambda i: (bases[i] != ids[i], ids[i].casefold(), ids[i], i))
    for i in order:
        base = bases[i]
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.casefold())
        names[i] = name + ".html"
    return names


def _href(name):
    """The link from report.html to a feedback page: fixed prefix, URL-encoded name."""
    return f"{FEEDBACK_DIR}/{quote(name, safe='')}"


# --------------------------------------------------------------------------- details of a check

def check_details(check, show_expected=False):
    """The figures behind one check's verdict, from its fields and ``details``, as Detail rows.

    Deterministic outputs: mismatched elements, the greatest absolute and relative differences with
    their N-d index and the allowance, and CS231n's rel_error. Dropout train outputs: the dropped
    fraction, the accepted interval and its binomial p-value, the mask-structure verdict and the
    probability that a correct implementation fails the check. Only what is present is shown.
    """
    d = check.details or {}
    items = []
    mismatches = check.mismatches if check.mismatches is not None else d.get("mismatches")
    size = check.size if check.size is not None else d.get("size")
    statistical = "accepted_interval" in d or "observed_fraction" in d or "p_value" in d

    if not statistical and check.status in ("pass", "fail"):
        if _num(mismatches) and _num(size) and size:
            items.append(Detail("Mismatched elements",
                                f"{mismatches} / {size} ({fraction_text(mismatches, size)})"))
        abs_err = check.max_abs_err if check.max_abs_err is not None else d.get("max_abs_err")
        if _num(abs_err):
            text = _sci(abs_err)
            if d.get("max_abs_index") is not None:
                text += f" at index {_fmt_index(d['max_abs_index'])}"
            if _num(d.get("atol_abs")):
                text += f" (up to {d['atol_abs']:.2g} allowed)"
            items.append(Detail("Greatest absolute difference", text))
        rel_err = check.max_rel_err if check.max_rel_err is not None else d.get("max_rel_err")
        if _num(rel_err) or "max_rel_index" in d:
            text = _sci(rel_err) if _num(rel_err) else "unbounded (nonzero where 0 was expected)"
            if d.get("max_rel_index") is not None:
                text += f" at index {_fmt_index(d['max_rel_index'])}"
            if _num(d.get("rtol")):
                text += f" (up to {d['rtol']:.2g} allowed)"
            items.append(Detail("Greatest relative difference", text))
        if _num(d.get("rel_error")):
            items.append(Detail("rel_error (CS231n)", _sci(d["rel_error"])))
        if 0 < check.score < check.max_score and _num(d.get("fraction_within")):
            items.append(Detail("Partial credit",
                                f"{d['fraction_within']:.1%} of the elements within tolerance "
                                "(not counting those 0 in both): "
                                f"{_points(check.score)} of {_points(check.max_score)} points"))

    if statistical:
        p = d.get("expected_fraction", d.get("drop_prob"))
        dropped, tested = d.get("dropped"), d.get("tested")
        if _num(dropped) and _num(tested) and tested:
            text = f"{dropped} of {tested} units ({dropped / tested:.1%})"
            if _num(p):
                text += f"; drop probability {p:g}"
            if _num(d.get("ambiguous")) and d["ambiguous"]:
                text += f" ({d['ambiguous']} units that read either way not counted)"
            items.append(Detail("Dropped", text))
        elif _num(d.get("observed_fraction")):
            items.append(Detail("Dropped fraction", f"{d['observed_fraction']:.1%}"
                                + (f"; drop probability {p:g}" if _num(p) else "")))
        interval = d.get("accepted_interval")
        if isinstance(interval, (list, tuple)) and len(interval) == 2:
            text = f"{interval[0]} to {interval[1]} dropped"
            fractions = d.get("accepted_fractions")
            if isinstance(fractions, (list, tuple)) and len(fractions) == 2:
                text += f" ({fractions[0]:.1%} to {fractions[1]:.1%})"
            items.append(Detail("Accepted", text))
        if _num(d.get("p_value")):
            items.append(Detail("Binomial p-value (two-sided, exact)", _prob(d["p_value"])))
        if _num(d.get("bad_values")) and d["bad_values"]:
            src = d.get("source_name") or "x"
            kept = f"{src}/{1 - p:g}" if _num(p) else f"{src}/(1 - drop probability)"
            text = (f"{d['bad_values']} of {size if _num(size) else '?'} elements are neither 0 "
                    f"nor {kept}")
            if d.get("worst_bad_index") is not None:
                text += f"; e.g. at index {_fmt_index(d['worst_bad_index'])}"
                if _num(d.get("worst_bad_value")) and _num(d.get("worst_bad_kept")):
                    # the student's own value, and one computed from an input they were given
                    text += (f": {d['worst_bad_value']:.6g} where {kept} = "
                             f"{d['worst_bad_kept']:.6g}")
            items.append(Detail("Values", text))
        failures = d.get("structure_failures")
        if failures:
            items.append(Detail("Mask structure", "; ".join(str(f) for f in failures)))
        elif d.get("structure_tests"):
            items.append(Detail("Mask structure",
                                "rows, columns, 2x2 blocks, runs and ends show no pattern"))
        alpha = d.get("alpha")
        if _num(alpha):
            items.append(Detail("False alarms",
                                f"a correct implementation fails this check with probability "
                                f"<= {alpha:g}"))

    if show_expected:
        for key in sorted(d):
            if key.startswith("expected") and key not in ("expected_fraction",):
                items.append(Detail(key.replace("_", " "), _plain(d[key])))
    return tuple(items)


def _prob(value):
    value = float(value)
    return "1" if value >= 1 else ("<1e-300" if value <= 0 else f"{value:.2g}")


def _plain(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------- building: feedback

LIKELY = ". Likely: "  # how grade.py appends a diagnosis's specific sentence to a check's message


def split_message(message):
    """``(what was found, likely cause or None)``: a message ends with ``. Likely: <cause>`` when
    the grader recognised the mistake; the page shows the cause apart, next to its code."""
    head, sep, likely = message.partition(LIKELY)
    if sep and likely.strip():
        return head, likely.strip()
    return message, None


TOLERANCE_RULE = ("A value passes when |got \u2212 expected| \u2264 atol \u00b7 scale + rtol \u00b7 "
                  "|expected|, where scale is the output's largest |expected| value; an output "
                  "passes when all its values do.")


def build_feedback(result, assignment, generated_at, show_expected=False):
    """The FeedbackPage for one SubmissionResult."""
    numbers = {o.file: i for i, o in enumerate(assignment.outputs, start=1)}
    rows_by_problem = {}
    for check in result.checks:
        message, explained = split_message(check.message)
        if not explained and check.diagnosis:
            explained = explanation(check.diagnosis)
            if explained and explained in message:
                explained = None
        row = OutputRow(
            number=numbers.get(check.output, 0),
            output=check.output,
            problem=check.problem,
            status=check.status,
            status_label=STATUS_LABELS.get(check.status, check.status),
            score="\u2013" if check.status == "unchecked" or not result.graded
            else f"{_points(check.score)} / {_points(check.max_score)}",
            message=message,
            diagnosis=check.diagnosis,
            explanation=explained,
            details=check_details(check, show_expected),
            open=check.status != "pass",
        )
        rows_by_problem.setdefault(check.problem, []).append(row)
    problems = tuple(ProblemGroup(name, tuple(rows)) for name, rows in rows_by_problem.items())
    counts = [StatusCount(s, STATUS_LABELS[s], sum(c.status == s for c in result.checks))
              for s in STATUSES]
    return FeedbackPage(
        id=result.id,
        assignment=assignment.name,
        generated_at=generated_at,
        score=_points(result.score) if result.graded else "\u2013",  # ungraded: no zero shown
        max_score=_points(result.max_score),
        percent=_pct(result.percent) if result.graded else "\u2013",
        percent_value=round(max(0.0, min(100.0, result.percent)), 2),
        full_marks=result.full_marks and result.checked_expected and bool(result.max_score),
        status_counts=tuple(c for c in counts if c.count),
        problems=problems,
        notes=tuple(str(n) for n in result.notes),
        error=result.error,
        checked_expected=result.checked_expected,
        unchecked=sum(c.status == "unchecked" for c in result.checks),
        show_expected=show_expected,
        tolerance_rule=TOLERANCE_RULE,
    )


# --------------------------------------------------------------------------- building: class

def build_class_report(batch, assignment, generated_at, feedback_links=True, names=None):
    """The ClassReport for a BatchResult. ``names``: the feedback file names, parallel to
    ``batch.submissions`` (default: :func:`feedback_names` of their ids)."""
    subs = list(batch.submissions)
    n = len(subs)
    if names is None:
        names = feedback_names(s.id for s in subs)
    refs = [StudentRef(s.id, _href(name) if feedback_links else None) for s, name in zip(subs, names)]
    ref_by_id = {}
    for s, ref in zip(subs, refs):
        ref_by_id.setdefault(s.id, ref)
    outputs = list(assignment.outputs)
    numbers = {o.file: i for i, o in enumerate(outputs, start=1)}
    max_score = assignment.max_score

    percents = [s.percent for s in subs]
    flagged = sum(1 for s in subs if s.flags)
    summary = Summary(
        students=n,
        max_score=_points(max_score),
        mean_score=_points(statistics.fmean([s.score for s in subs])) if n else "\u2013",
        mean_percent=_pct(statistics.fmean(percents), 1) if n else "\u2013",
        median_percent=_pct(statistics.median(percents), 1) if n else "\u2013",
        full_marks=sum(1 for s in subs if s.full_marks and s.max_score),
        errors=sum(1 for s in subs if s.error),
        flagged=flagged,
    )

    # Per output: how many students reached each status; the most common diagnosis.
    # (A submission that could not be read at all is listed with its error, not as ten failures.)
    checks_by_output = {o.file: [] for o in outputs}
    failed_by_output = {o.file: [] for o in outputs}
    for s, ref in zip(subs, refs):
        for c in s.checks:
            checks_by_output.setdefault(c.output, []).append((ref, c))
            if c.status in FAILING and not s.error:
                failed_by_output.setdefault(c.output, []).append((ref, c))
    stats = []
    for o in outputs:
        pairs = checks_by_output.get(o.file, [])
        counts = {status: 0 for status in STATUSES}
        for _, c in pairs:
            counts[c.status] = counts.get(c.status, 0) + 1
        total = len(pairs)
        segments = tuple(Segment(status, STATUS_LABELS.get(status, status), count,
                                 f"{100.0 * count / total:.2f}%")
                         for status, count in counts.items() if count)
        diagnosis_counts = {}
        for _, c in failed_by_output.get(o.file, []):
            if c.diagnosis:
                diagnosis_counts[c.diagnosis] = diagnosis_counts.get(c.diagnosis, 0) + 1
        ranked = sorted(diagnosis_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        top = ranked[0] if ranked else None
        stats.append(OutputStat(
            number=numbers[o.file], output=o.file, problem=o.problem, points=_points(o.points),
            passed=counts["pass"], students=total, pass_rate=_share(counts["pass"], total),
            segments=segments,
            top_diagnosis=f"{top[0]} ({top[1]})" if top else None,
        ))

    # The most frequent failures: same output, same status, same diagnosis.
    groups = {}
    for o in outputs:
        for ref, c in failed_by_output.get(o.file, []):
            groups.setdefault((o.file, c.status, c.diagnosis), []).append(ref)
    failures = []
    for (output, status, code), members in groups.items():
        likely = next((split_message(c.message)[1] for _, c in failed_by_output[output]
                       if c.status == status and c.diagnosis == code and split_message(c.message)[1]),
                      None)
        failures.append(FailureGroup(
            count=len(members), share=_share(len(members), n), output=output,
            number=numbers.get(output, 0), status=status,
            status_label=STATUS_LABELS.get(status, status), diagnosis=code,
            explanation=explanation(code) or likely or _fallback_explanation(status, code),
            students=tuple(sorted(members, key=lambda r: (r.id.casefold(), r.id))),
        ))
    failures.sort(key=lambda g: (-g.count, g.number, g.status, g.diagnosis or ""))

    # Diagnoses across the class.
    by_code = {}
    for o in outputs:
        for ref, c in failed_by_output.get(o.file, []):
            if c.diagnosis:
                entry = by_code.setdefault(c.diagnosis, {"checks": 0, "students": set(), "outputs": []})
                entry["checks"] += 1
                entry["students"].add(ref.id)
                if o.file not in entry["outputs"]:
                    entry["outputs"].append(o.file)
    diagnoses = sorted(
        (DiagnosisCount(code, explanation(code) or "", e["checks"], len(e["students"]),
                        ", ".join(e["outputs"]))
         for code, e in by_code.items()),
        key=lambda d: (-d.checks, d.code))

    return ClassReport(
        assignment=assignment.name,
        generated_at=generated_at,
        summary=summary,
        histogram=build_histogram(subs, max_score),
        outputs=tuple(stats),
        output_headers=tuple(OutputHeader(numbers[o.file], o.file) for o in outputs),
        failures=tuple(failures),
        diagnoses=tuple(diagnoses),
        flags=tuple(_flag_groups(subs, ref_by_id)),
        errors=tuple(ErrorRow(ref, s.error) for s, ref in
                     sorted(zip(subs, refs), key=lambda p: (p[0].id.casefold(), p[0].id))
                     if s.error),
        students=tuple(_student_rows(subs, refs, outputs, key="id")),
        students_by_score=tuple(_student_rows(subs, refs, outputs, key="score")),
        feedback_links=feedback_links,
        top_failures=tuple(failures[:TOP_FAILURES]),
        hardest=tuple(sorted((o for o in stats if o.students and o.passed < o.students),
                             key=lambda o: (o.passed / o.students, o.number))[:HARDEST_OUTPUTS]),
        statuses=tuple((s, STATUS_GLYPHS[s], STATUS_LABELS[s]) for s in STATUSES),
    )


def _fallback_explanation(status, code):
    if code:
        return code.replace("_", " ")
    return {"fail": "wrong values; no known mistake matches",
            "error": "the file could not be read",
            "missing": "the file is missing"}.get(status, status)


def _student_rows(subs, refs, outputs, key):
    pairs = list(zip(subs, refs))
    if key == "score":
        pairs.sort(key=lambda p: (p[0].percent, p[0].id.casefold(), p[0].id))
    else:
        pairs.sort(key=lambda p: (p[0].id.casefold(), p[0].id))
    rows = []
    for s, ref in pairs:
        by_output = {c.output: c for c in s.checks}
        cells = []
        for o in outputs:
            c = by_output.get(o.file)
            status = c.status if c else "missing"
            title = f"{o.file}: {STATUS_LABELS.get(status, status)}"
            if c and c.diagnosis and status in FAILING:
                title += f" ({c.diagnosis})"
            cells.append(Cell(status, STATUS_GLYPHS.get(status, "?"), title))
        flags = tuple(dict.fromkeys(FLAG_TITLES.get(_flag_code(f), _flag_code(f)) for f in s.flags))
        score = f"{_points(s.score)} / {_points(s.max_score)}" if s.graded else "not graded"
        rows.append(StudentRow(ref, score, _pct(s.percent) if s.graded else "\u2013",
                               tuple(cells), flags, bool(s.error)))
    return rows


def _flag_code(flag):
    return flag.get("code", "") if isinstance(flag, dict) else getattr(flag, "code", "")


def _flag_parts(flag):
    if isinstance(flag, dict):
        return flag.get("code", ""), flag.get("output", ""), list(flag.get("with", [])), flag.get("message", "")
    return flag.code, flag.output, list(getattr(flag, "with_", []) or []), getattr(flag, "message", "")


def _flag_groups(subs, ref_by_id):
    """Flags gathered for the instructor: the submissions sharing one dropout mask (naming the
    same ``group``, or, in results without groups, connected through their ``with`` lists) form
    one group per output, and groups of the same submissions are merged across outputs; every
    other flag is its own group."""
    groups = []
    links = {}  # output -> {id: set of ids it shares a mask with}
    grouped = {}  # (output, group id) -> ids: flags that name their group, linear in its size
    for s in subs:
        for flag in s.flags:
            code, output, others, message = _flag_parts(flag)
            group = flag.get("group") if isinstance(flag, dict) else getattr(flag, "group", None)
            if code == "identical_dropout_mask" and group:
                grouped.setdefault((output, group), set()).add(s.id)
            elif code == "identical_dropout_mask":
                graph = links.setdefault(output, {})
                for other in others:
                    graph.setdefault(s.id, set()).add(other)
                    graph.setdefault(other, set()).add(s.id)
            else:
                groups.append(FlagGroup(code, FLAG_TITLES.get(code, code.replace("_", " ")), output,
                                        (_ref(ref_by_id, s.id),),
                                        message or _flag_text(code, output)))
    outputs_by_members = {}  # the same submissions, merged across outputs
    for output, graph in links.items():
        seen = set()
        for start in sorted(graph):
            if start in seen:
                continue
            component, todo = set(), [start]
            while todo:
                node = todo.pop()
                if node not in component:
                    component.add(node)
                    todo.extend(graph.get(node, ()))
            seen |= component
            members = tuple(sorted(component, key=lambda i: (i.casefold(), i)))
            outputs_by_members.setdefault(members, []).append(output)
    for (output, _), ids in grouped.items():
        members = tuple(sorted(ids, key=lambda i: (i.casefold(), i)))
        outputs_by_members.setdefault(members, []).append(output)
    code = "identical_dropout_mask"
    for members, outputs in outputs_by_members.items():
        where = " and ".join(outputs)
        groups.append(FlagGroup(code, FLAG_TITLES[code], ", ".join(outputs),
                                tuple(_ref(ref_by_id, i) for i in members),
                                f"{len(members)} submissions share one dropout mask in {where}; "
                                "independent work draws different masks"))
    groups.sort(key=lambda g: (g.code, [r.id.casefold() for r in g.students], g.output))
    return groups


def _ref(ref_by_id, student_id):
    return ref_by_id.get(student_id) or StudentRef(student_id, None)


def _flag_text(code, output):
    if code == "copied_expected":
        return f"{output} is byte-identical to the instructors' expected file"
    return code.replace("_", " ")


def build_histogram(subs, max_score):
    """The score distribution: one bin per point when scores are whole points out of at most 20,
    otherwise ten bins of 10% (the last one includes 100%)."""
    scores = [float(s.score) for s in subs]
    unit = (max_score > 0 and float(max_score).is_integer() and max_score < HIST_MAX_UNIT_BINS
            and all(float(x).is_integer() and 0 <= x <= max_score for x in scores))
    if unit:
        edges = list(range(int(max_score) + 1))
        counts = [0] * len(edges)
        for x in scores:
            counts[int(x)] += 1
        labels = [str(e) for e in edges]
        axis_title = f"score (out of {_points(max_score)})"
        mean_pos = (sum(scores) / len(scores) + 0.5) / len(edges) if scores else None
        mean_text = _points(round(sum(scores) / len(scores), 1)) if scores else ""
    else:
        counts = [0] * 10
        for s in subs:
            counts[min(9, max(0, int(s.percent // 10)))] += 1
        labels = [f"{10 * i}\u2013{10 * i + 10}" for i in range(10)]
        axis_title = "score (%)"
        mean_pos = (sum(s.percent for s in subs) / len(subs) / 100.0) if subs else None
        mean_text = _pct(sum(s.percent for s in subs) / len(subs)) if subs else ""
    nbins = len(counts)
    plot_w = HIST_WIDTH - HIST_LEFT - 8
    plot_h = HIST_HEIGHT - HIST_TOP - HIST_BOTTOM
    baseline = HIST_TOP + plot_h
    top_count = max(counts) if counts else 0
    scale_max = max(1, top_count)
    step = plot_w / nbins
    gap = min(6.0, step * 0.15)
    bins = []
    for i, (label, count) in enumerate(zip(labels, counts)):
        h = plot_h * count / scale_max
        x = HIST_LEFT + i * step + gap / 2
        bins.append(HistogramBin(label, count, round(x, 2), round(baseline - h, 2),
                                 round(step - gap, 2), round(h, 2), round(x + (step - gap) / 2, 2),
                                 round(baseline - h - 5, 2), i == nbins - 1))
    gridlines = []
    for value in _ticks(scale_max):
        y = round(baseline - plot_h * value / scale_max, 2)
        gridlines.append(Gridline(y, y + 4, str(value)))
    mean_x = round(HIST_LEFT + plot_w * mean_pos, 2) if mean_pos is not None else None
    return Histogram(
        bins=tuple(bins), width=HIST_WIDTH, height=HIST_HEIGHT, left=HIST_LEFT,
        right=HIST_LEFT + plot_w, baseline=baseline, label_y=baseline + 15,
        tick_x=HIST_LEFT - 6, title_x=round(HIST_LEFT + plot_w / 2, 2),
        axis_title=axis_title, axis_title_y=baseline + 33, gridlines=tuple(gridlines),
        mean_x=mean_x, mean_top=HIST_TOP - 24, mean_label_y=HIST_TOP - 28,
        mean_label=f"mean {mean_text}", total=sum(counts),
    )


def _ticks(top):
    """A few round gridline values from 0 to ``top``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 5:
            break
    else:
        step = 10 ** math.ceil(math.log10(top / 5))
    return list(range(0, top + 1, step))


# --------------------------------------------------------------------------- rendering

@lru_cache(maxsize=1)
def environment():
    """The one jinja2 Environment: package templates, autoescape on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@lru_cache(maxsize=None)
def _template(name):
    return environment().get_template(name)


def render_feedback(result, assignment, generated_at, show_expected=False):
    """The feedback page for one SubmissionResult (``check --html``; ``feedback/<id>.html``)."""
    page = build_feedback(result, assignment, generated_at, show_expected)
    return _template("feedback.html").render(page=page, generated_at=page.generated_at)


def render_class_report(batch, assignment, generated_at, feedback_links=True, names=None):
    """The instructor's class report (``report.html``) for a BatchResult."""
    report = build_class_report(batch, assignment, generated_at, feedback_links, names)
    return _template("report.html").render(report=report, generated_at=report.generated_at)


def write_reports(out_dir, batch, assignment, generated_at):
    """Write ``out_dir/report.html`` and one ``out_dir/feedback/<name>.html`` per submission,
    each atomically; ``<name>`` is the id made safe (:func:`feedback_names`), and the report links
    to exactly these files. Returns the list of paths written, the report first.
    """
    out_dir = Path(out_dir)
    names = feedback_names(s.id for s in batch.submissions)
    written = [write_class_report(out_dir, batch, assignment, generated_at, names)]
    for sub, name in zip(batch.submissions, names):
        written.append(write_feedback(out_dir / FEEDBACK_DIR / name, sub, assignment, generated_at))
    return written


def write_class_report(out_dir, batch, assignment, generated_at, names):
    """Write ``out_dir/report.html`` (linking to ``feedback/<name>`` for ``names``); its path."""
    path = Path(out_dir) / REPORT_NAME
    report = build_class_report(batch, assignment, generated_at, names=names)
    # Streamed: a large class's page is never held whole in memory.
    with atomic_text_writer(path) as out:
        for chunk in _template("report.html").generate(report=report,
                                                       generated_at=report.generated_at):
            out.write(chunk)
    return path


def write_feedback(path, result, assignment, generated_at):
    """Write one student's feedback page atomically; its path."""
    write_text_atomic(path, render_feedback(result, assignment, generated_at))
    return Path(path)
