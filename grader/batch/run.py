"""`cnngrade batch`: grade every submission under ROOT in worker processes, then write the
results, the gradebook and the reports, each atomically.

Each submission is graded under a time limit, so nothing a student hands in can stall the batch;
results come back in submission order whatever the number of workers. What goes wrong is told
apart by whose it is:

- the student's (a bad file, a zip bomb, grading that takes too long): a failed result, zero
  for what could not be judged, with the reason;
- the grader's environment (a full disk, a file size limit, an --out it cannot write): a
  GraderError that stops the batch, before grading where it can be checked first;
- a bug of ours, or a grading process killed twice on the same submission (the OOM killer): the
  submission is left ungraded (``graded`` false, no score in the gradebook), the batch goes on,
  and the command exits 1 naming it. Students never see the grader's paths either way.

--out is checked, and held against a second batch, before anything is graded (grader/outdir.py).
"""
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from grader import outdir
from grader.atomic import atomic_text_writer
from grader.batch.flags import find_flags
from grader.batch.peer_flags import find_peer_flags
from grader.batch.workers import run_in_workers
from grader.course.gradebook import write_class_gradebook
from grader.errors import GraderError, SubmissionError
from grader.intake.submissions import list_submissions
from grader.limits import DEFAULT_TIME_LIMIT, TimeLimitExceeded, grading_limits
from grader.pipeline import failed_submission, grade_submission, load_context
from grader.report.gradebook import write_gradebook
from grader.report.names import FEEDBACK_DIR, feedback_names
from grader.report.render import write_class_report, write_feedback
from grader.results import BatchResult, timestamp, to_json
from grader.assignment.students import StudentContexts, load_student_contexts
from grader.text import printable

log = logging.getLogger("cnngrade")

# Grading is CPU-bound: workers beyond twice the cores only cost memory (--jobs 1000 started
# 1,001 processes for 9 students).
MAX_JOBS_PER_CPU = 2


_worker_context = None
_worker_options = None


def _init_worker(context, options):
    global _worker_context, _worker_options
    _worker_context, _worker_options = context, options


def _grade_one(task):
    return grade_and_write_feedback(task, _worker_context, **_worker_options)


def grade_with_limit(source, context, seconds):
    """Grade one SubmissionSource: the student's problems and the time limit become a failed
    result, a bug of ours an ungraded one; a GraderError (the grader cannot go on) is raised.

    ``context`` is a GradingContext, or StudentContexts when every student has inputs of their own.
    """
    try:
        with grading_limits(seconds):
            if isinstance(context, StudentContexts):
                return context.grade(source)
            return grade_submission(source.path, context, submission_id=source.id, source=source)
    except (SubmissionError, TimeLimitExceeded) as e:
        return failed_submission(source.id, context, str(e))
    except GraderError:
        raise
    except Exception as e:  # a bug of ours must not lose the rest of the class's results
        log.error("internal error while grading %s: %s: %s; please report it", source.id,
                  type(e).__name__, e, exc_info=True)
        return ungraded(source.id, context, f"an internal error ({type(e).__name__})")


def ungraded(submission_id, context, reason):
    """The result of a submission the grader failed on: no score to give, and why (with no
    grader path: students read it)."""
    result = failed_submission(submission_id, context,
                               f"not graded: the grader failed on this submission ({reason}); "
                               "it will be graded again")
    result.graded = False
    for check in result.checks:
        check.message = "not graded: the grader failed on this submission"
    return result


def grade_and_write_feedback(task, context, seconds, generated_at, finish=None):
    """Grade ``task = (source, feedback page, spool file)``; write its feedback page and its full
    JSON where the worker is, and return the result without the figures only those need.
    ``finish``, if given, completes a result before it is written (the course's final grade).

    Pages are so rendered in parallel, and the main process holds a small summary per student:
    its memory stays flat however large the class.
    """
    source = task[0]
    result = grade_with_limit(source, context, seconds)
    if source.note:  # the id is not the folder's or zip's name: say why, first
        result.notes.insert(0, source.note)
    return _record(task, result, context, generated_at, finish)


def _record(task, result, context, generated_at, finish=None):
    """Complete ``result`` (``finish``), write its feedback page and spooled JSON; return it
    without the figures only those need."""
    source, page, spool = task
    finish = finish or (lambda graded: graded)
    result = finish(result)
    try:
        json_text = to_json(result.to_dict(), indent=None)
        write_feedback(page, result, context.assignment, generated_at)
    except (ValueError, TypeError, UnicodeError) as e:  # a bug of ours: keep the class's results
        log.error("internal error while reporting on %s: %s: %s; please report it", source.id,
                  type(e).__name__, e, exc_info=True)
        result = finish(ungraded(source.id, context, f"an internal error while reporting "
                                                     f"({type(e).__name__})"))
        json_text = to_json(result.to_dict(), indent=None)
        _write(write_feedback, page, result, context.assignment, generated_at)
    except OSError as e:
        raise GraderError(f"cannot write a feedback page: {e.strerror}", path=page) from None
    _write(spool.write_text, json_text, encoding="utf-8")
    result.checks = [check.without_figures() for check in result.checks]
    return result


def _write(write, *args, **kwargs):
    """``write(*args, **kwargs)``; an OSError is the grader's: a GraderError, which stops the
    batch."""
    try:
        return write(*args, **kwargs)
    except OSError as e:
        raise GraderError(f"cannot write results: {e.strerror}", path=e.filename) from None


def worker_count(jobs, tasks):
    """Workers for ``tasks``: ``jobs`` (default every core) clamped to the work and the cores."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    return max(1, min(jobs or cpus, len(tasks), MAX_JOBS_PER_CPU * cpus))


def hard_limit(seconds):
    """When a worker stuck on one submission (where its own time limit cannot interrupt it) is
    stopped from outside."""
    return seconds + max(seconds, 10.0) if seconds else None


def grade_all(tasks, context, jobs=1, seconds=DEFAULT_TIME_LIMIT, generated_at="", on_result=None,
              finish=None):
    """SubmissionResults for ``tasks`` (source, feedback page, spool file) in their order, graded
    by ``jobs`` worker processes (see grader/batch/workers.py for what survives a worker's
    death)."""
    options = {"seconds": seconds, "generated_at": generated_at, "finish": finish}
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            results.append(grade_and_write_feedback(task, context, **options))
            if on_result:
                on_result()
        return results

    def lost(task, reason):
        log.error("%s was not graded: %s", task[0].id, reason)
        return _record(task, ungraded(task[0].id, context, reason), context, generated_at, finish)

    chunk = max(1, min(16, len(tasks) // (jobs * 4)))
    return run_in_workers(tasks, _grade_one, jobs, lost, initializer=_init_worker,
                          initargs=(context, options), hard_limit=hard_limit(seconds),
                          chunk=chunk, on_result=on_result)


def grade_batch(root, spec_path="assignment.toml", inputs_dir="input_files",
                expected_dir="expected", out_dir="grades", jobs=None,
                seconds=DEFAULT_TIME_LIMIT, progress=None, generated_at=None, course=None,
                roster=None, secret=None):
    """Grade every submission under ``root`` and write results.json, gradebook.csv, report.html
    and feedback/<id>.html into ``out_dir``. Returns the BatchResult.

    ``course``, a grader.course.apply.CourseSetup (roster, overrides, late policy), makes it grade
    each student's latest submission under their roster key and give each their final grade.

    With ``roster`` and ``secret`` (files), every student is graded against their own inputs
    (grader/students.py; ``inputs_dir`` and ``expected_dir`` are then not read) and the class gets
    the per-student flags of grader/batch/peer_flags.py.

    ``progress``, if given, is a callable receiving the number of submissions and returning a
    context manager with an ``update(n)`` method (click.progressbar fits). Raises GraderError,
    before grading, for an --out that cannot be used or that another batch is writing to.
    """
    if secret is not None:
        context = load_student_contexts(spec_path, roster, secret).prepare(jobs or os.cpu_count())
    else:
        context = load_context(spec_path, inputs_dir, expected_dir, require_expected=True)
    listed = list_submissions(Path(root))
    out_dir = Path(out_dir)
    sources = outdir.submissions_to_grade(listed, root, out_dir)
    plan = course.plan(sources) if course is not None else None
    if plan is not None:
        sources = plan.sources
    outdir.prepare(out_dir)
    with outdir.locked(out_dir):
        outdir.remove_leftovers(out_dir)
        return _grade_into(out_dir, context, listed, sources, jobs, seconds, progress,
                           generated_at or timestamp(), plan)


def _grade_into(out_dir, context, listed, sources, jobs, seconds, progress, generated_at, plan):
    finish = plan.finish if plan is not None else None
    names = feedback_names(source.id for source in sources)
    feedback_dir = out_dir / FEEDBACK_DIR
    outdir.remove_stale_pages(feedback_dir, names)
    spool_dir = Path(tempfile.mkdtemp(dir=out_dir, prefix=outdir.SPOOL_PREFIX))
    try:
        tasks = [(source, feedback_dir / name, spool_dir / f"{i}.json")
                 for i, (source, name) in enumerate(zip(sources, names))]
        jobs = worker_count(jobs, tasks)
        if progress is not None:
            with progress(len(tasks)) as bar:
                results = grade_all(tasks, context, jobs, seconds, generated_at,
                                    on_result=lambda: bar.update(1), finish=finish)
        else:
            results = grade_all(tasks, context, jobs, seconds, generated_at, finish=finish)
        if isinstance(context, StudentContexts):  # expected/ is not what these students are graded against
            groups = find_flags(results, None, context.assignment, context.shared.inputs)
            find_peer_flags(results)
        else:
            groups = find_flags(results, context.expected.manifest, context.assignment,
                                context.inputs)
        batch = BatchResult(context.assignment.name, results, generated_at,
                            ignored=[printable(path.name) for path in listed.ignored],
                            renamed=[source.note for source in sources if source.note],
                            flag_groups=groups,
                            course=plan.summary() if plan is not None else None)
        _write(_write_results_json, out_dir / "results.json", batch, [task[2] for task in tasks])
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    gradebook = write_gradebook if plan is None else write_class_gradebook
    _write(gradebook, out_dir / "gradebook.csv", batch, context.assignment)
    _write(write_class_report, out_dir, batch, context.assignment, generated_at, names)
    return batch


def _write_results_json(path, batch, spools):
    """results.json from each submission's spooled JSON and its flags, one student at a time."""
    head = to_json({**batch.header(), "submissions": []}, indent=None)
    opening = head[:head.rindex("[") + 1]
    with atomic_text_writer(path, durable=True) as out:
        out.write(opening)
        for i, (submission, spool) in enumerate(zip(batch.submissions, spools)):
            data = json.loads(spool.read_text("utf-8"))
            data["flags"] = [flag.to_dict() for flag in submission.flags]
            out.write((", " if i else "") + to_json(data, indent=None).rstrip("\n"))
        out.write("]}\n")
