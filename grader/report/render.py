"""HTML reports: the student's feedback page and the instructor's class report.

Two phases, as coverage.py builds its HTML report: first the report's data, as the plain
dataclasses of views.py (every number, label, bar length and link, computed by feedback.py,
class_report.py and histogram.py), then one jinja2 Environment, here, renders them
through templates that only loop and test. The Environment (grader/report/templates, autoescape on,
StrictUndefined) is built once per process and compiles each template once, so a feedback page
renders in well under a millisecond.

What a student controls (the id, which comes from a folder or zip name; messages and notes, which
quote file names and tokens) reaches the page only through autoescaping, and reaches a link only
URL-encoded after a fixed ``feedback/`` prefix. The pages load nothing: the CSS is inlined, the
charts are inline SVG and CSS bars. Feedback pages have no script at all; the class report has one
small inline script (find and sort in the student table) that its Content-Security-Policy admits
by hash and that the page does not need. The timestamp is passed in, so the same results always
render to the same bytes.

Student-facing pages never show flags (they name other students) nor expected values; instructor
pages may show expected values when ``show_expected`` is set and the details carry them.
"""
import base64
import hashlib
from functools import lru_cache
from pathlib import Path

import jinja2

from grader.atomic import atomic_text_writer, write_text_atomic
from grader.report.class_report import build_class_report
from grader.report.feedback import build_feedback
from grader.report.names import FEEDBACK_DIR, feedback_names


REPORT_NAME = "report.html"


# --------------------------------------------------------------------------- rendering

@lru_cache(maxsize=1)
def environment():
    """The one jinja2 Environment: package templates, autoescape on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.report", "templates"),
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


def compile_templates():
    """Compile the page templates now: worker processes forked afterwards share the compiled
    code instead of each compiling it (about 20 ms for the feedback page)."""
    for name in ("feedback.html", "output_row.html", "report.html", "student_row.html"):
        _template(name)


@lru_cache(maxsize=1)
def script_hash():
    """The Content-Security-Policy source of the class report's one inline script
    (templates/students.js): the page's policy lets that exact script run and nothing else."""
    source = environment().loader.get_source(environment(), "students.js")[0]
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode()


def render_feedback(result, assignment, generated_at, show_expected=False):
    """The feedback page for one SubmissionResult (``check --html``; ``feedback/<id>.html``)."""
    page = build_feedback(result, assignment, generated_at, show_expected)
    return _template("feedback.html").render(page=page, generated_at=page.generated_at,
                                             output_row_html=_output_row_html)


@lru_cache(maxsize=256)
def _output_row_html(row):
    """The feedback page's row for an OutputRow (a value: equal rows render alike), kept for the
    next page: most rows of a class's correct students are the same."""
    return _template("output_row.html").module.output_row(row)


def render_class_report(batch, assignment, generated_at, feedback_links=True, names=None):
    """The instructor's class report (``report.html``) for a BatchResult."""
    report = build_class_report(batch, assignment, generated_at, feedback_links, names)
    return _template("report.html").render(**_report_variables(report))


def _report_variables(report):
    """The report template's variables. The page lists every student twice (by id, by score):
    each student's row is rendered once, by the student_row macro, and placed in both tables."""
    student_row = _template("student_row.html").module.student_row
    html = {id(row): student_row(row) for row in report.students}
    rows = {"by_id": [html[id(row)] for row in report.students],
            "by_score": [html[id(row)] for row in report.students_by_score]}
    return {"report": report, "generated_at": report.generated_at, "script_hash": script_hash(),
            "student_rows": rows}


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
    # Streamed: a large class's page is never held whole in memory (its student rows are, once:
    # about a kilobyte a student).
    with atomic_text_writer(path) as out:
        out.writelines(_template("report.html").generate(**_report_variables(report)))
    return path


def write_feedback(path, result, assignment, generated_at):
    """Write one student's feedback page atomically; its path."""
    write_text_atomic(path, render_feedback(result, assignment, generated_at))
    return Path(path)
