"""A synthetic graded class for the report and gradebook tests (and for looking at the pages).

Results are built directly as the grader would return them, so the reports can be tested without
grading anything: a deterministic class with the common mistakes of the assignment, one unreadable
submission, flags, and ids that try to break out of HTML and spreadsheets.

    python tests/report_fixtures.py OUT_DIR [N]   # writes OUT_DIR/report.html and feedback/
"""
import random
import re
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.assignment.spec import load_spec  # noqa: E402
from grader.diagnosis.catalogue import diagnosis, explain  # noqa: E402
from grader.judge.compare import Comparison  # noqa: E402
from grader.judge.dropout import DropoutVerdict  # noqa: E402
from grader.results import BatchResult, CheckResult, Fingerprints, Flag, SubmissionResult  # noqa: E402

GENERATED_AT = "2017-10-01 12:00:00 UTC"
HOSTILE_IDS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "../../etc/passwd",
    "e 01 ünïcode",
)


def assignment():
    return load_spec(ROOT / "assignment.toml")


def comparison(output, passed, mismatches, max_abs_err, max_rel_err, rel_error, index=None):
    zeros = (0,) * len(output.shape)
    return Comparison(passed=passed, size=output.size, mismatches=mismatches, max_abs_err=max_abs_err,
                      max_abs_index=tuple(index or zeros), max_rel_err=max_rel_err,
                      max_rel_index=zeros, rel_error=rel_error, rtol=1e-5, atol=1e-5, atol_abs=5e-6,
                      scale=None, fraction_within=1.0 if passed else 0.0, shape=tuple(output.shape))


def passing(output):
    if output.statistical:
        return dropout_check(output, "pass")
    size = output.size
    return CheckResult(
        output=output.file, problem=output.problem, status="pass", score=output.points,
        max_score=output.points,
        message=f"all {size} elements within tolerance; worst 2.2e-16 at (0,) (up to 5e-06 allowed)",
        mismatches=0, size=size, max_abs_err=2.2e-16, max_rel_err=1e-15,
        comparison=comparison(output, True, 0, 2.2e-16, 1e-15, 3e-16),
        fingerprints=Fingerprints("0" * 64),
    )


def failing(output, code, mismatches=None, message=None, likely=""):
    size = output.size
    mismatches = size - 3 if mismatches is None else mismatches
    index = [1] * len(output.shape)
    return CheckResult(
        output=output.file, problem=output.problem, status="fail", score=0.0,
        max_score=output.points,
        message=message or f"{mismatches} / {size} elements differ; worst 3.1e-01 at {tuple(index)}",
        diagnosis=diagnosis(code, likely) if code else None, mismatches=mismatches, size=size,
        max_abs_err=0.31, max_rel_err=None,
        comparison=comparison(output, False, mismatches, 0.31, None, 0.42, index),
    )


def dropout_check(output, status, code=None, dropped=None):
    size = output.size
    p = 0.3 if output.problem == "dropout_forward" else 0.8
    dropped = round(size * p) if dropped is None else dropped
    lo, hi = round(size * p * 0.7), round(size * p * 1.3)
    passed = status == "pass"
    message = (f"dropped {dropped} / {size} ({dropped / size:.1%}), accepted {lo}-{hi} for p = {p:g}"
               + ("; values and mask look right" if passed else ""))
    verdict = DropoutVerdict(
        passed=passed, size=size, tested=size, ambiguous=0, dropped=dropped,
        observed_fraction=dropped / size, expected_fraction=p, accepted_interval=(lo, hi),
        accepted_fractions=(lo / size, hi / size), p_value=0.61 if passed else 3e-9, bad_values=0,
        worst_bad_index=None, worst_bad_value=None, worst_bad_kept=None, structure_failures=(),
        structure_tests=(("lines", 0.8), ("runs (rows)", 0.4)), diagnosis=code, message=message,
        alpha=1e-6, source_name="x", mask_digest="1" * 64)
    return CheckResult(
        output=output.file, problem=output.problem, status=status,
        score=output.points if passed else 0.0, max_score=output.points, message=message,
        diagnosis=diagnosis(code) if code else None, mismatches=0, size=size, dropout=verdict,
        fingerprints=Fingerprints("2" * 64, "1" * 64),
    )


def missing(output):
    return CheckResult(output=output.file, problem=output.problem, status="missing", score=0.0,
                       max_score=output.points, message=f"{output.filename} not found",
                       diagnosis=diagnosis("missing_file"))


def parse_error(output, token="nan"):
    return CheckResult(output=output.file, problem=output.problem, status="error", score=0.0,
                       max_score=output.points,
                       message=f"{output.filename}, line 8, column 1: {token!r} is not a finite number",
                       diagnosis=diagnosis("nonfinite"), size=output.size)


def submission(student_id, checks, **kwargs):
    return SubmissionResult(id=student_id, score=sum(c.score for c in checks),
                            max_score=sum(c.max_score for c in checks), error=None, checks=checks,
                            **kwargs)


def unreadable(student_id, spec, error):
    checks = [CheckResult(output=o.file, problem=o.problem, status="error", score=0.0,
                          max_score=o.points, message="not graded: the submission could not be read")
              for o in spec.outputs]
    return SubmissionResult(id=student_id, score=0.0, max_score=spec.max_score, error=error,
                            checks=checks)


def make_class(spec=None, n=40, seed=2017, hostile=True):
    """A BatchResult of ``n`` students (plus the hostile ids) with the usual mistakes."""
    spec = spec or assignment()
    rng = random.Random(seed)
    outputs = {o.file: o for o in spec.outputs}
    subs = []
    for i in range(n):
        student_id = f"e{1000000 + 37 * i:07d}{'abcdefghjk'[i % 10]}"
        checks = {o.file: passing(o) for o in spec.outputs}
        notes = []
        if i % 3 == 0:  # a third flatten column-major in conv backward
            checks["conv_backward_out_dx"] = failing(outputs["conv_backward_out_dx"], "column_major")
        if i % 7 == 1:
            checks["conv_forward_out"] = failing(outputs["conv_forward_out"], "flipped_kernel")
        if i % 9 == 2:
            checks["dropout_forward_out_train"] = dropout_check(
                outputs["dropout_forward_out_train"], "fail", "keep_probability", dropped=282)
        if i % 11 == 3:
            checks["maxpool_backward_out"] = missing(outputs["maxpool_backward_out"])
            notes.append("maxpool_backward_out.csv found as 'maxpool_backward_output.csv' (misnamed)")
        if i % 13 == 4:
            checks["maxpool_forward_out"] = parse_error(outputs["maxpool_forward_out"])
        if i % 8 == 5:
            checks["conv_backward_out_db"] = failing(outputs["conv_backward_out_db"], None, 1)
        if rng.random() < 0.1:
            checks["dropout_backward_out_test"] = failing(outputs["dropout_backward_out_test"],
                                                          "scaled_at_test")
        subs.append(submission(student_id, [checks[o.file] for o in spec.outputs], notes=notes))
    subs.append(unreadable("e9999999z", spec, "e9999999z.zip: not a zip file (starts with 'PK\\x05')"))
    if hostile:
        for j, student_id in enumerate(HOSTILE_IDS):
            checks = [passing(o) for o in spec.outputs]
            checks[j] = failing(spec.outputs[j], None, 2,
                                message=f"<b>bold</b> '{student_id}' file <script>x</script>")
            subs.append(submission(student_id, checks,
                                   notes=[f"found <script>alert('{j}')</script> in {student_id}"]))
    # Flags: three students share a mask; one copied an expected file.
    shared = [subs[1].id, subs[4].id, subs[6].id]
    for sid in shared:
        sub = next(s for s in subs if s.id == sid)
        sub.flags.append(Flag("identical_dropout_mask", "dropout_forward_out_train",
                              [x for x in shared if x != sid]))
    subs[10].flags.append(Flag("copied_expected", "conv_forward_out", []))
    subs.sort(key=lambda s: (s.id.casefold(), s.id))
    return BatchResult(spec.name, subs, GENERATED_AT)


# --------------------------------------------------------------------------- the tests

import statistics  # noqa: E402
from html.parser import HTMLParser  # noqa: E402
from urllib.parse import unquote  # noqa: E402

import markupsafe  # noqa: E402
import pytest  # noqa: E402

from grader.pipeline import grade_submission, load_context  # noqa: E402
from grader.report.class_report import build_class_report  # noqa: E402
from grader.report.feedback import build_feedback  # noqa: E402
from grader.report.histogram import build_histogram  # noqa: E402
from grader.report.names import feedback_names  # noqa: E402
from grader.report.render import (environment, render_class_report, render_feedback,  # noqa: E402
                                  script_hash, write_reports)
from grader.report.views import STATUS_LABELS  # noqa: E402


class Page(HTMLParser):
    """A parsed page: every start tag with its attributes, the text, and the text under ids."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, attrs dict)
        self.text = []
        self._stack = []  # open elements: (tag, id)
        self.by_id = {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag not in ("meta", "link", "br", "img", "input", "rect", "line"):
            self._stack.append((tag, attrs.get("id")))
            if attrs.get("id"):
                self.by_id[attrs["id"]] = ""

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        for _, element_id in self._stack:
            if element_id:
                self.by_id[element_id] += data

    def all(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag
                and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def with_class(self, cls):
        return [(t, a) for t, a in self.tags if cls in (a.get("class") or "").split()]

    @property
    def plain(self):
        return "".join(self.text)


@pytest.fixture(scope="module")
def spec():
    return assignment()


@pytest.fixture(scope="module")
def batch(spec):
    return make_class(spec)


@pytest.fixture(scope="module")
def class_html(batch, spec):
    return render_class_report(batch, spec, GENERATED_AT)


STUDENTS_SCRIPT = environment().loader.get_source(environment(), "students.js")[0]


def assert_safe(text):
    """No script but the class report's own find-and-sort (allowed by hash in the page's policy),
    no external or javascript: URL, no event handler, no raw student markup."""
    known = f"<script>{STUDENTS_SCRIPT}</script>"
    if known in text:
        assert text.count(known) == 1 and f"script-src '{script_hash()}'" in text
        text = text.replace(known, "")
    page = Page(text)
    assert not page.all("script")
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "javascript:", "data:")), (tag, attrs)
            assert "://" not in value and ":" not in value, (tag, attrs)
        if tag == "a":  # links go to a feedback page or within the page, nowhere else
            assert attrs["href"].startswith(("feedback/", "#")), attrs
    assert not page.all("img") and not page.all("iframe") and not page.all("link")
    for raw in ("<script>", "<img", "<b>bold</b>", "onerror=alert(1)>"):
        assert raw not in text
    return page


# --------------------------------------------------------------------------- class report

def test_class_report_summary_numbers(batch, class_html):
    page = Page(class_html)
    subs = batch.submissions
    assert page.by_id["students"].strip() == str(len(subs)) == "47"
    mean = statistics.fmean(s.percent for s in subs)
    assert page.by_id["mean"].strip() == f"{mean:.1f}%"
    median = statistics.median(s.percent for s in subs)
    assert page.by_id["median"].strip() == f"{median:.1f}%"
    assert page.by_id["full-marks"].strip() == str(sum(s.full_marks for s in subs))
    assert page.by_id["errors"].strip() == "1"
    assert page.by_id["flagged"].strip() == "4"  # three sharing a mask, one copy


def test_histogram_counts_every_student(batch, spec, class_html):
    page = Page(class_html)
    bins = page.all("g", class_="bin")
    counts = [int(a["data-count"]) for a in bins]
    assert len(bins) == 11  # one bin per point of a 10-point assignment
    assert sum(counts) == len(batch.submissions)
    expected = [sum(1 for s in batch.submissions if s.score == k) for k in range(11)]
    assert counts == expected
    # The counts are written as text too, above each non-empty bar.
    shown = [int(t) for t in Page(class_html[class_html.index("<svg"):class_html.index("</svg>")]).text
             if t.strip().isdigit()]
    for count in counts:
        if count:
            assert count in shown


def test_histogram_uses_percent_bins_for_fractional_scores(spec):
    subs = [submission(f"s{i}", [passing(o) for o in spec.outputs]) for i in range(5)]
    subs[0].score = 3.3333
    subs[1].score = 10.0
    histogram = build_histogram(subs, spec.max_score)
    assert [b.label for b in histogram.bins][0] == "0\u201310"
    assert len(histogram.bins) == 10 and histogram.total == 5
    assert histogram.bins[3].count == 1 and histogram.bins[9].count == 4  # 100% falls in the last


def test_pass_rate_per_output(batch, spec, class_html):
    page = Page(class_html)
    for output in spec.outputs:
        (row,) = page.all("tr", id=f"rate-{output.file}")
        passed = sum(1 for s in batch.submissions for c in s.checks
                     if c.output == output.file and c.status == "pass")
        assert int(row["data-passed"]) == passed
        assert int(row["data-students"]) == len(batch.submissions)
        assert f"{round(100 * passed / len(batch.submissions))}%" in page.by_id[f"rate-{output.file}"]
    # The stacked bar's segments add up to the whole bar.
    data = build_class_report(batch, spec, GENERATED_AT)
    for stat in data.outputs:
        assert sum(float(seg.width.rstrip("%")) for seg in stat.segments) == pytest.approx(100, abs=0.05)
        assert sum(seg.count for seg in stat.segments) == stat.students


def test_most_frequent_failures_grouped_by_output_and_diagnosis(batch, spec, class_html):
    data = build_class_report(batch, spec, GENERATED_AT)
    top = data.failures[0]
    assert (top.output, top.diagnosis, top.count) == ("conv_backward_out_dx", "column_major", 14)
    assert top.share == "30%"
    assert [f.count for f in data.failures] == sorted((f.count for f in data.failures), reverse=True)
    # The unreadable submission is listed with its error, not as ten failures.
    assert all("e9999999z" not in [r.id for r in f.students] for f in data.failures)
    assert "e9999999z" in Page(class_html).by_id["submission-errors"]
    page = Page(class_html)
    assert "column_major" in page.by_id["failures"]
    text = page.by_id["failures"]
    assert "14" in text and "conv_backward_out_dx" in text
    diagnoses = {d.code: d for d in data.diagnoses}
    assert diagnoses["column_major"].students == 14
    assert diagnoses["missing_file"].outputs == "maxpool_backward_out"


def test_explanations_come_from_the_diagnosis_catalogue(batch, spec):
    data = build_class_report(batch, spec, GENERATED_AT)
    top = data.failures[0]
    assert top.explanation == explain("column_major").message


def test_flags_are_grouped(batch, spec, class_html):
    data = build_class_report(batch, spec, GENERATED_AT)
    by_code = {g.code: g for g in data.flags}
    shared = by_code["identical_dropout_mask"]
    assert len(shared.students) == 3 and shared.output == "dropout_forward_out_train"
    assert all(r.href and r.href.startswith("feedback/") for r in shared.students)
    assert len(by_code["copied_expected"].students) == 1
    assert "identical dropout mask" in Page(class_html).by_id["flags"]


def test_shared_masks_are_merged_into_groups(spec):
    subs = [submission(i, [passing(o) for o in spec.outputs]) for i in ("a", "b", "c", "d", "e")]
    by_id = {s.id: s for s in subs}

    def share(output, x, y):
        by_id[x].flags.append(Flag("identical_dropout_mask", output, [y]))
        by_id[y].flags.append(Flag("identical_dropout_mask", output, [x]))

    share("dropout_forward_out_train", "a", "b")
    share("dropout_forward_out_train", "b", "c")  # a, b, c: one group through b
    share("dropout_forward_out_train", "d", "e")
    share("dropout_backward_out_train", "d", "e")  # d, e: the same pair in two outputs
    data = build_class_report(BatchResult(spec.name, subs, GENERATED_AT), spec, GENERATED_AT)
    groups = [([r.id for r in g.students], g.output) for g in data.flags]
    assert groups == [(["a", "b", "c"], "dropout_forward_out_train"),
                      (["d", "e"], "dropout_forward_out_train, dropout_backward_out_train")]
    assert data.summary.flagged == 5


def test_student_table_links_to_feedback_pages(batch, class_html):
    ids = sorted((s.id for s in batch.submissions), key=lambda i: (i.casefold(), i))
    names = dict(zip((s.id for s in batch.submissions),
                     feedback_names(s.id for s in batch.submissions)))
    for table_id in ("students-by-id", "students-by-score"):
        start = class_html.index(f'id="{table_id}"')
        table = class_html[start:class_html.index("</table>", start)]
        links = [a for t, a in Page(table).tags if t == "a"]
        assert len(links) == len(ids)
        if table_id == "students-by-id":
            texts = [t for t in Page(table).text if t.strip() and t.strip() in ids]
            assert texts == ids  # sorted by id
        for link in links:
            assert link["href"].startswith("feedback/") and link["href"].endswith(".html")
            assert unquote(link["href"][len("feedback/"):]) in names.values()


def test_student_text_is_escaped_everywhere(batch, spec, class_html):
    page = assert_safe(class_html)
    for hostile in HOSTILE_IDS:
        assert hostile in page.plain  # shown as text, exactly
        assert str(markupsafe.escape(hostile)) in class_html  # and written escaped
    for sub in batch.submissions:
        assert_safe(render_feedback(sub, spec, GENERATED_AT))


def test_feedback_links_can_be_turned_off(batch, spec):
    page = Page(render_class_report(batch, spec, GENERATED_AT, feedback_links=False))
    assert not [a for t, a in page.tags if t == "a" and "feedback/" in a.get("href", "")]


def test_report_is_deterministic_and_states_the_given_time(batch, spec):
    first = render_class_report(batch, spec, "2017-10-01 12:00:00 UTC")
    assert first == render_class_report(batch, spec, "2017-10-01 12:00:00 UTC")
    assert "2017-10-01 12:00:00 UTC" in first
    other = render_class_report(batch, spec, "another time")
    assert first.replace("2017-10-01 12:00:00 UTC", "another time") == other


def test_empty_class_renders(spec):
    text = render_class_report(BatchResult(spec.name, [], GENERATED_AT), spec, GENERATED_AT)
    page = assert_safe(text)
    assert page.by_id["students"].strip() == "0"
    assert sum(int(a["data-count"]) for a in page.all("g", class_="bin")) == 0


def test_no_external_assets_and_css_inlined(class_html):
    page = Page(class_html)
    assert page.all("style") and not page.all("link")
    assert "@import" not in class_html and "url(" not in class_html


# --------------------------------------------------------------------------- feedback page

def test_feedback_page_header_and_rows(spec):
    outputs = spec.outputs
    checks = [passing(o) for o in outputs]
    checks[1] = failing(outputs[1], "column_major")
    checks[5] = missing(outputs[5])
    sub = submission("e0123456g", checks, notes=["conv_forward_out.csv found as 'Conv_Forward_Out.csv'"])
    page = Page(render_feedback(sub, spec, GENERATED_AT))
    assert "e0123456g" in page.plain
    assert page.by_id["score"].replace("\xa0", " ").split() == ["8", "/", "10"]
    assert page.by_id["percent"] == "80%"
    for output in outputs:
        assert f"output-{output.file}" in page.by_id
    assert len(page.all("tr", class_="pass")) == 8
    assert len(page.all("tr", class_="fail")) == 1 and len(page.all("tr", class_="missing")) == 1
    row = page.by_id["output-conv_backward_out_dx"]
    assert "column_major" in row and "Mismatched elements" in row
    assert "Greatest absolute difference" in row and "at index (1, 1, 1, 1)" in row
    assert "rel_error (CS231n)" in row
    assert "Conv_Forward_Out.csv" in page.by_id["notes"]
    assert "not-checked" not in page.by_id


def test_feedback_partial_credit(spec):
    checks = [passing(o) for o in spec.outputs]
    checks[0] = failing(spec.outputs[0], None, 27)
    checks[0].score = 0.5
    checks[0].comparison = replace(checks[0].comparison, fraction_within=0.5)
    page = Page(render_feedback(submission("s", checks), spec, GENERATED_AT))
    row = page.by_id["output-conv_forward_out"]
    assert "0.5 / 1" in row and "50.0% of the elements within tolerance" in row


def test_feedback_dropout_figures(spec):
    output = next(o for o in spec.outputs if o.statistical)
    checks = [passing(o) for o in spec.outputs]
    checks[spec.outputs.index(output)] = dropout_check(output, "fail", "keep_probability", dropped=282)
    page = Page(render_feedback(submission("s", checks), spec, GENERATED_AT))
    row = page.by_id[f"output-{output.file}"]
    assert "282 of 400 units (70.5%)" in row
    assert "drop probability 0.3" in row
    assert "Accepted" in row and "84 to 156 dropped" in row
    assert "p-value" in row and "3e-09" in row
    assert "probability <= 1e-06" in row


def test_feedback_splits_the_likely_cause_from_the_message(spec):
    checks = [passing(o) for o in spec.outputs]
    checks[0] = failing(spec.outputs[0], "flipped_kernel",
                        message="54 / 54 elements differ; worst 3.1e-01 at (0, 0, 0, 0)",
                        likely="you flipped the kernel")
    data = build_feedback(submission("s", checks), spec, GENERATED_AT)
    row = data.problems[0].rows[0]
    assert row.message == "54 / 54 elements differ; worst 3.1e-01 at (0, 0, 0, 0)"
    assert row.explanation == "you flipped the kernel"


def test_feedback_says_when_correctness_was_not_checked(spec):
    checks = []
    for o in spec.outputs:
        if o.statistical:
            checks.append(passing(o))
        else:
            checks.append(CheckResult(o.file, o.problem, "unchecked", 0.0, 0.0,
                                      "read and counted; correctness not checked (no expected outputs)",
                                      size=o.size))
    sub = submission("me", checks, checked_expected=False)
    page = Page(render_feedback(sub, spec, GENERATED_AT))
    statement = page.by_id["not-checked"]
    assert "8 deterministic outputs were not checked for correctness" in statement
    assert "not checked" in page.by_id["output-conv_forward_out"]
    assert "Full marks" not in page.plain  # nothing wrong found is not full marks


def test_feedback_for_an_unreadable_submission(spec):
    sub = unreadable("<b>x</b>", spec, "x.zip: entry '../../evil' <script>leaves the submission")
    text = render_feedback(sub, spec, GENERATED_AT)
    page = assert_safe(text)
    assert "leaves the submission" in page.by_id["submission-error"]
    assert "<script>leaves" in page.by_id["submission-error"]  # as text


def test_feedback_never_shows_expected_values_unless_asked(spec):
    checks = [passing(o) for o in spec.outputs]
    checks[0].expected_at_worst = 0.123456789
    sub = submission("s", checks)
    assert "0.123457" not in render_feedback(sub, spec, GENERATED_AT)
    shown = render_feedback(sub, spec, GENERATED_AT, show_expected=True)
    assert "0.123457" in shown and "Instructor view" in shown


def test_feedback_of_a_graded_submission(tmp_path):
    """Grade the committed expected/ as if it were a submission (when grading works on main)."""
    context = load_context(ROOT / "assignment.toml", ROOT / "input_files", ROOT / "expected")
    result = grade_submission(ROOT / "expected", context, submission_id="expected")
    text = render_feedback(result, context.assignment, GENERATED_AT)
    page = assert_safe(text)
    for output in context.assignment.outputs:
        check = next(c for c in result.checks if c.output == output.file)
        assert check.status in page.by_id[f"output-{output.file}"] or \
            STATUS_LABELS[check.status] in page.by_id[f"output-{output.file}"]
    # The figures come from the real details (Comparison.to_dict, the dropout verdict's fields):
    # a renamed key would make them vanish silently.
    assert "Greatest absolute difference" in page.by_id["output-conv_forward_out"]
    assert "rel_error (CS231n)" in page.by_id["output-conv_forward_out"]
    dropout = grade_submission(ROOT / "examples" / "submissions" / "e0000004d", context)
    page = Page(render_feedback(dropout, context.assignment, GENERATED_AT))
    row = page.by_id["output-dropout_forward_out_train"]
    for figure in ("Dropped", "Accepted", "Binomial p-value", "probability <= 1e-06", "keep_probability"):
        assert figure in row
    batch = BatchResult(context.assignment.name, [result], GENERATED_AT)
    written = write_reports(tmp_path, batch, context.assignment, GENERATED_AT)
    assert [p.name for p in written] == ["report.html", "expected.html"]


# --------------------------------------------------------------------------- files

def test_feedback_names_are_safe_distinct_and_stable():
    ids = ["e01", "E01", "a b", "a_b", "../x", ".hidden", "", "CON", "ünï", "x" * 300,
           "<script>", "e01~1"]
    names = feedback_names(ids)
    assert len(set(n.casefold() for n in names)) == len(ids)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*\.html", name), name
        assert len(name) <= 110
    assert {names[ids.index("e01")], names[ids.index("E01")]} == {"E01.html", "e01-2.html"}
    assert names[ids.index("a_b")] == "a_b.html" and names[ids.index("a b")] == "a_b-2.html"
    assert names[ids.index("e01~1")] == "e01_1.html"
    assert names[ids.index("../x")] == "_.._x.html"
    assert names[ids.index("CON")] == "_CON.html"
    # The same ids in another order get the same names.
    assert dict(zip(ids, names)) == dict(zip(ids[::-1], feedback_names(ids[::-1])))


def test_write_reports_writes_every_page_and_links_resolve(batch, spec, tmp_path):
    written = write_reports(tmp_path, batch, spec, GENERATED_AT)
    assert written[0] == tmp_path / "report.html"
    assert len(written) == len(batch.submissions) + 1
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == sorted(p.name for p in written[1:])
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    hrefs = {a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("feedback/")}
    assert len(hrefs) == len(batch.submissions)
    for href in hrefs:
        assert (tmp_path / unquote(href)).is_file()
    # Each page is the one for its student.
    names = feedback_names(s.id for s in batch.submissions)
    for sub, name in zip(batch.submissions, names):
        text = (tmp_path / "feedback" / name).read_text(encoding="utf-8")
        assert str(markupsafe.escape(sub.id)) in text


def test_one_environment_with_autoescape_and_strict_undefined():
    env = environment()
    assert env is environment()
    assert env.autoescape is True
    import jinja2
    assert env.undefined is jinja2.StrictUndefined
    for name in env.list_templates():
        source = env.loader.get_source(env, name)[0]
        assert "|safe" not in source.replace(" ", "")
        allowed = '<script>{% include "students.js" %}</script>' if name == "report.html" else ""
        assert "<script" not in source.replace(allowed, "")
        assert "http://" not in source and "https://" not in source


def main(argv):
    from grader.report.gradebook import write_gradebook

    out = Path(argv[0])
    n = int(argv[1]) if len(argv) > 1 else 40
    spec = assignment()
    batch = make_class(spec, n)
    write_reports(out, batch, spec, GENERATED_AT)
    write_gradebook(out / "gradebook.csv", batch, spec)
    print(f"wrote {out}/report.html, {len(batch.submissions)} feedback pages, gradebook.csv")


if __name__ == "__main__":
    main(sys.argv[1:])


def test_an_empty_submission_is_one_line_not_ten_failures(spec):
    correct = submission("e1", [passing(o) for o in spec.outputs])
    empty = submission("e2", [missing(o) for o in spec.outputs])
    wrong = submission("e3", [failing(o, "sign_flip") if i == 0 else passing(o)
                              for i, o in enumerate(spec.outputs)])
    batch = BatchResult(spec.name, [correct, empty, wrong], GENERATED_AT)
    data = build_class_report(batch, spec, GENERATED_AT)
    assert [r.id for r in data.empty] == ["e2"]
    assert [(f.output, f.count) for f in data.failures] == [("conv_forward_out", 1)]
    assert data.outputs[0].passed == 1 and data.outputs[0].students == 3  # pass rates stay honest
    page = Page(render_class_report(batch, spec, GENERATED_AT))
    assert "1 submission had no output files" in page.by_id["empty"] and "e2" in page.by_id["empty"]


def test_notes_on_files_reach_the_class_report(spec):
    sub = submission("e1", [passing(o) for o in spec.outputs],
                     notes=[f"Conv_Forward_Out.csv: did you mean conv_forward_out.csv? ({i})"
                            for i in range(8)])
    batch = BatchResult(spec.name, [sub], GENERATED_AT)
    page = Page(render_class_report(batch, spec, GENERATED_AT))
    assert "did you mean conv_forward_out.csv? (4)" in page.by_id["notes"]
    assert "(5)" not in page.by_id["notes"] and "and 3 more" in page.by_id["notes"]


def test_each_output_has_a_score_histogram(spec):
    checks = [[passing(o) for o in spec.outputs] for _ in range(4)]
    checks[0][0] = failing(spec.outputs[0], None)
    checks[1][0] = failing(spec.outputs[0], None)
    checks[1][0].score = 0.25  # partial credit, under half
    batch = BatchResult(spec.name, [submission(f"e{i}", c) for i, c in enumerate(checks)],
                        GENERATED_AT)
    bins = build_class_report(batch, spec, GENERATED_AT).outputs[0].score_bins
    assert [(b.label, b.count) for b in bins] == [("0", 1), ("< half", 1), (">= half", 0), ("full", 2)]
    assert "students by share of the points: 0 1, &lt; half 1, &gt;= half 0, full 2" in \
        render_class_report(batch, spec, GENERATED_AT)
