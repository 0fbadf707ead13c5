"""The instructor's class report: the summary, pass rates per output, the most frequent failures
with their likely cause, diagnoses across the class, flags and the student table."""
import statistics

from grader.report.course import build_course_section
from grader.report.hints import class_hints
from grader.report.histogram import build_histogram
from grader.report.names import feedback_names, href
from grader.report.views import (FAILING, FLAG_TITLES, STATUS_GLYPHS, STATUS_LABELS, Cell, ClassReport,
                                 DiagnosisCount, ErrorRow, FailureGroup, FlagGroup, NoteRow,
                                 OutputHeader, OutputStat, ScoreBin, Segment, StudentRef, StudentRow,
                                 Summary, pct, points, share)
from grader.results import STATUSES


NOTES_SHOWN = 5  # per submission in the class report; the feedback page has them all
TOP_FAILURES = 5  # failure groups in the overview, next to the histogram
HARDEST_OUTPUTS = 3


# --------------------------------------------------------------------------- building: class

def build_class_report(batch, assignment, generated_at, feedback_links=True, names=None):
    """The ClassReport for a BatchResult. ``names``: the feedback file names, parallel to
    ``batch.submissions`` (default: :func:`feedback_names` of their ids)."""
    subs = list(batch.submissions)
    if names is None:
        names = feedback_names(s.id for s in subs)
    refs = [StudentRef(s.id, href(name) if feedback_links else None) for s, name in zip(subs, names)]
    ref_by_id = {}
    for s, ref in zip(subs, refs):
        ref_by_id.setdefault(s.id, ref)
    outputs = list(assignment.outputs)
    numbers = {o.file: i for i, o in enumerate(outputs, start=1)}

    # Per output: every check, and the failed ones. A submission that could not be read at all is
    # listed with its error, and one with no output file at all on one line: not as ten failures.
    empty = [ref for s, ref in zip(subs, refs) if _is_empty(s)]
    checks_by_output = {o.file: [] for o in outputs}
    failed_by_output = {o.file: [] for o in outputs}
    for s, ref in zip(subs, refs):
        counted = not s.error and not _is_empty(s)
        for c in s.checks:
            checks_by_output.setdefault(c.output, []).append((ref, c))
            if c.status in FAILING and counted:
                failed_by_output.setdefault(c.output, []).append((ref, c))
    # The catalogue's sentence for each code found, from the checks' diagnoses.
    catalogue = {c.diagnosis.code: c.diagnosis.explanation for pairs in failed_by_output.values()
                 for _, c in pairs if c.diagnosis and c.diagnosis.explanation}
    stats = [_output_stat(o, numbers[o.file], checks_by_output.get(o.file, []),
                          failed_by_output.get(o.file, [])) for o in outputs]
    failures = _failure_groups(outputs, failed_by_output, numbers, catalogue, len(subs))
    rows = _student_rows(subs, refs, outputs)

    return ClassReport(
        assignment=assignment.name,
        generated_at=generated_at,
        summary=_summary(subs, assignment.max_score),
        histogram=build_histogram(subs, assignment.max_score),
        outputs=tuple(stats),
        output_headers=tuple(OutputHeader(numbers[o.file], o.file) for o in outputs),
        failures=tuple(failures),
        diagnoses=_diagnosis_counts(outputs, failed_by_output, catalogue),
        flags=tuple(_flag_groups(subs, ref_by_id)),
        errors=tuple(ErrorRow(ref, s.error) for s, ref in
                     sorted(zip(subs, refs), key=lambda p: (p[0].id.casefold(), p[0].id))
                     if s.error),
        students=tuple(row for _, row in sorted(rows, key=_by_id)),
        students_by_score=tuple(row for _, row in sorted(rows, key=_by_score)),
        feedback_links=feedback_links,
        top_failures=tuple(failures[:TOP_FAILURES]),
        hardest=tuple(sorted((o for o in stats if o.students and o.passed < o.students),
                             key=lambda o: (o.passed / o.students, o.number))[:HARDEST_OUTPUTS]),
        statuses=tuple((s, STATUS_GLYPHS[s], STATUS_LABELS[s]) for s in STATUSES),
        empty=tuple(sorted(empty, key=lambda r: (r.id.casefold(), r.id))),
        hints=class_hints(batch, assignment),
        notes=tuple(NoteRow(ref, tuple(s.notes[:NOTES_SHOWN]), max(0, len(s.notes) - NOTES_SHOWN))
                    for s, ref in sorted(zip(subs, refs), key=lambda p: (p[0].id.casefold(), p[0].id))
                    if s.notes),
        course=build_course_section(batch, ref_by_id),
    )


def _is_empty(submission):
    """No output file found at all: nothing was graded, whatever the outputs."""
    return not submission.error and bool(submission.checks) and all(
        c.status == "missing" for c in submission.checks)


def _score_bins(pairs, max_points):
    """Students with none, less than half, at least half (but not all) and all of an output's
    points, as bars of a 64 x 20 SVG box."""
    labels = ("0", "< half", ">= half", "full")
    counts = [0, 0, 0, 0]
    for _, c in pairs:
        if c.status == "unchecked" or not max_points:
            continue
        share = c.score / max_points
        counts[0 if share <= 0 else 3 if share >= 1 else 1 if share < 0.5 else 2] += 1
    top = max(counts) or 1
    return tuple(ScoreBin(label, count, 2 + 16 * i, round(20 - 18 * count / top, 1),
                          round(18 * count / top, 1))
                 for i, (label, count) in enumerate(zip(labels, counts)))


def _summary(subs, max_score):
    n = len(subs)
    percents = [s.percent for s in subs]
    return Summary(
        students=n,
        max_score=points(max_score),
        mean_score=points(statistics.fmean([s.score for s in subs])) if n else "\u2013",
        mean_percent=pct(statistics.fmean(percents), 1) if n else "\u2013",
        median_percent=pct(statistics.median(percents), 1) if n else "\u2013",
        full_marks=sum(1 for s in subs if s.full_marks and s.max_score),
        errors=sum(1 for s in subs if s.error),
        flagged=sum(1 for s in subs if s.flags),
    )


def _output_stat(output, number, pairs, failed):
    """How many students reached each status on ``output``; its most common diagnosis."""
    counts = {status: 0 for status in STATUSES}
    for _, c in pairs:
        counts[c.status] = counts.get(c.status, 0) + 1
    total = len(pairs)
    segments = tuple(Segment(status, STATUS_LABELS.get(status, status), count,
                             f"{100.0 * count / total:.2f}%")
                     for status, count in counts.items() if count)
    diagnosis_counts = {}
    for _, c in failed:
        if c.diagnosis:
            diagnosis_counts[c.diagnosis_code] = diagnosis_counts.get(c.diagnosis_code, 0) + 1
    ranked = sorted(diagnosis_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[0] if ranked else None
    return OutputStat(
        number=number, output=output.file, problem=output.problem, points=points(output.points),
        passed=counts["pass"], students=total, pass_rate=share(counts["pass"], total),
        segments=segments, top_diagnosis=f"{top[0]} ({top[1]})" if top else None,
        score_bins=_score_bins(pairs, output.points),
    )


def _failure_groups(outputs, failed_by_output, numbers, catalogue, students):
    """The most frequent failures: same output, same status, same diagnosis; most students first."""
    groups = {}
    for o in outputs:
        for ref, c in failed_by_output.get(o.file, []):
            groups.setdefault((o.file, c.status, c.diagnosis_code), []).append(ref)
    failures = []
    for (output, status, code), members in groups.items():
        likely = next((c.diagnosis.message for _, c in failed_by_output[output]
                       if c.status == status and code and c.diagnosis_code == code
                       and c.diagnosis.message), None)
        failures.append(FailureGroup(
            count=len(members), share=share(len(members), students), output=output,
            number=numbers.get(output, 0), status=status,
            status_label=STATUS_LABELS.get(status, status), diagnosis=code,
            explanation=catalogue.get(code) or likely or _fallback_explanation(status, code),
            students=tuple(sorted(members, key=lambda r: (r.id.casefold(), r.id))),
        ))
    failures.sort(key=lambda g: (-g.count, g.number, g.status, g.diagnosis or ""))
    return failures


def _diagnosis_counts(outputs, failed_by_output, catalogue):
    """Each diagnosis across the class: checks, students and outputs; the most frequent first."""
    by_code = {}
    for o in outputs:
        for ref, c in failed_by_output.get(o.file, []):
            if c.diagnosis:
                entry = by_code.setdefault(c.diagnosis_code, {"checks": 0, "students": set(), "outputs": []})
                entry["checks"] += 1
                entry["students"].add(ref.id)
                if o.file not in entry["outputs"]:
                    entry["outputs"].append(o.file)
    return tuple(sorted(
        (DiagnosisCount(code, catalogue.get(code) or "", e["checks"], len(e["students"]),
                        ", ".join(e["outputs"]))
         for code, e in by_code.items()),
        key=lambda d: (-d.checks, d.code)))


def _fallback_explanation(status, code):
    if code:
        return code.replace("_", " ")
    return {"fail": "wrong values; no known mistake matches",
            "error": "the file could not be read",
            "missing": "the file is missing"}.get(status, status)


def _by_id(pair):
    return pair[0].id.casefold(), pair[0].id


def _by_score(pair):
    return pair[0].percent, pair[0].id.casefold(), pair[0].id


def _student_rows(subs, refs, outputs):
    """(submission, StudentRow) for each student, built once for both tables (by id, by score)."""
    rows = []
    for s, ref in zip(subs, refs):
        by_output = {c.output: c for c in s.checks}
        cells = []
        for o in outputs:
            c = by_output.get(o.file)
            status = c.status if c else "missing"
            title = f"{o.file}: {STATUS_LABELS.get(status, status)}"
            if c and c.diagnosis and status in FAILING:
                title += f" ({c.diagnosis_code})"
            cells.append(Cell(status, STATUS_GLYPHS.get(status, "?"), title))
        flags = tuple(dict.fromkeys(FLAG_TITLES.get(_flag_code(f), _flag_code(f)) for f in s.flags))
        score = f"{points(s.score)} / {points(s.max_score)}" if s.graded else "not graded"
        rows.append((s, StudentRow(ref, score, pct(s.percent) if s.graded else "\u2013",
                                   round(s.percent, 2), tuple(cells), flags, bool(s.error))))
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
