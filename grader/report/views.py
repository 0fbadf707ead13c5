"""The data the pages are rendered from, as coverage.py builds its HTML report: plain frozen
dataclasses holding every number, label, bar length and link, computed by feedback.py,
class_report.py and histogram.py; the templates only loop and test. Also the labels of statuses
and flags, and the number formats the pages share."""
import math
from dataclasses import dataclass, field




STATUS_LABELS = {"pass": "pass", "fail": "fail", "error": "error", "missing": "missing",
                 "unchecked": "not checked"}
# A glyph per status, so the student table reads in black and white (print) as well as in colour.
STATUS_GLYPHS = {"pass": "\u2713", "fail": "\u2717", "error": "!", "missing": "\u2013",
                 "unchecked": "?"}
FLAG_TITLES = {
    "identical_dropout_mask": "identical dropout mask",
    "copied_expected": "copy of the expected file",
    "peer_outputs": "a classmate's outputs",
    "wrong_inputs": "computed from other inputs",
}
FAILING = ("fail", "error", "missing")


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
    grade: object = None  # report/course.GradePanel: overrides and late penalty, if any


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
    score_bins: tuple = ()  # of ScoreBin: how many students earned none, part or all of it


@dataclass(frozen=True)
class ScoreBin:
    """One bar of an output's small score histogram (SVG units of a 64 x 20 box)."""

    label: str  # "0", "< half", ">= half", "full"
    count: int
    x: int
    y: float
    height: float


@dataclass(frozen=True)
class NoteRow:
    """A submission's notes on its files (misnamed, extra, where found), for the instructor."""

    student: "StudentRef"
    notes: tuple  # of str, at most a few
    more: int  # notes left out


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
    percent_value: float  # for sorting in the page
    cells: tuple  # of Cell, one per output in spec order
    flags: tuple  # of str (flag titles)
    error: bool

    @property
    def failing(self):
        return any(c.status in FAILING for c in self.cells)


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
    empty: tuple = ()  # of StudentRef: submissions with no output file at all (one line, not ten failures)
    notes: tuple = ()  # of NoteRow
    hints: tuple = ()  # of hints.ConventionHint: the class may have been taught another convention
    course: object = None  # report/course.CourseSection, for a class graded with its course


# --------------------------------------------------------------------------- helpers

def points(value):
    """A score for display: at most 2 decimals, no trailing zeros (7, 0.33)."""
    if value is None:
        return "\u2013"
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def pct(value, digits=0):
    return f"{value:.{digits}f}%"


def share(part, whole):
    return pct(100.0 * part / whole) if whole else "0%"


def fmt_index(index):
    if index is None:
        return None
    items = list(index) if isinstance(index, (list, tuple)) else [index]
    return "(" + ", ".join(str(i) for i in items) + ("," if len(items) == 1 else "") + ")"


def sci(value):
    if value is None:
        return "unbounded"
    value = float(value)
    if not math.isfinite(value):
        return "unbounded"
    return "0" if value == 0 else f"{value:.1e}"


def is_number(value):
    return value is not None and isinstance(value, (int, float)) and not isinstance(value, bool)
