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
import logging
import os
import tempfile
from pathlib import Path

from grader import outdir
from grader.batch.flags import find_flags
from grader.batch.results_json import submission_line, write_results_json
from grader.batch.shards import shard_spool, write_shard_manifest
from grader.batch.peer_flags import find_peer_flags
from grader.batch.workers import run_in_workers
from grader.course.gradebook import write_class_gradebook
from grader.errors import GraderError, SubmissionError
from grader.intake.submissions import list_submissions
from grader.limits import DEFAULT_TIME_LIMIT, TimeLimitExceeded, grading_limits
from grader.pipeline import failed_submission, grade_submission, load_context
from grader.report.gradebook import write_gradebook
from grader.report.names import FEEDBACK_DIR, feedback_names
from grader.report.render import compile_templates, write_class_report, write_feedback
from grader.results import BatchResult, timestamp
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
    """Grade ``task = (source, feedback page)``; write its feedback page where the worker is, and
    return the result without the figures only the page and the JSON need, and its full JSON
    (one line, results_json.submission_line). ``finish``, if given, completes a result before it
    is written (the course's final grade).

    Pages are so rendered in parallel, and the main process holds a small summary per student:
    its memory stays flat however large the class.
    """
    source = task[0]
    result = grade_with_limit(source, context, seconds)
    if source.note:  # the id is not the folder's or zip's name: say why, first
        result.notes.insert(0, source.note)
    return _record(task, result, context, generated_at, finish)


def _record(task, result, context, generated_at, finish=None):
    """Complete ``result`` (``finish``) and write its feedback page; return it without the
    figures only the page and the JSON need, with its JSON line."""
    source, page = task
    finish = finish or (lambda graded: graded)
    result = finish(result)
    try:
        json_text = submission_line(result)
        write_feedback(page, result, context.assignment, generated_at)
    except (ValueError, TypeError, UnicodeError) as e:  # a bug of ours: keep the class's results
        log.error("internal error while reporting on %s: %s: %s; please report it", source.id,
                  type(e).__name__, e, exc_info=True)
        result = finish(ungraded(source.id, context, f"an internal error while reporting "
                                                     f"({type(e).__name__})"))
        json_text = submission_line(result)
        _write(write_feedback, page, result, context.assignment, generated_at)
    except OSError as e:
        raise GraderError(f"cannot write a feedback page: {e.strerror}", path=page) from None
    result.checks = [check.without_figures() for check in result.checks]
    return result, json_text


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
              finish=None, spool=None):
    """SubmissionResults for ``tasks`` (source, feedback page) in their order, graded by ``jobs``
    worker processes (see grader/batch/workers.py for what survives a worker's death); each one's
    JSON line is written to ``spool`` (a text file) in the same order.

    One spool file for the class: a file per student costs more to create than to fill.
    """
    options = {"seconds": seconds, "generated_at": generated_at, "finish": finish}
    if jobs <= 1 or len(tasks) <= 1:
        graded = []
        for task in tasks:
            graded.append(grade_and_write_feedback(task, context, **options))
            if on_result:
                on_result()
    else:
        def lost(task, reason):
            log.error("%s was not graded: %s", task[0].id, reason)
            return _record(task, ungraded(task[0].id, context, reason), context, generated_at,
                           finish)

        compile_templates()  # before the workers fork: they share the compiled templates
        chunk = max(1, min(16, len(tasks) // (jobs * 4)))
        graded = run_in_workers(tasks, _grade_one, jobs, lost, initializer=_init_worker,
                                initargs=(context, options), hard_limit=hard_limit(seconds),
                                chunk=chunk, on_result=on_result)
    results = []
    for result, json_text in graded:
        results.append(result)
        if spool is not None:
            _write(spool.write, json_text + "\n")
    return results


def grade_batch(root, spec_path="assignment.toml", inputs_dir="input_files",
                expected_dir="expected", out_dir="grades", jobs=None,
                seconds=DEFAULT_TIME_LIMIT, progress=None, generated_at=None, course=None,
                roster=None, secret=None, shard=None):
    """Grade every submission under ``root`` and write results.json, gradebook.csv, report.html
    and feedback/<id>.html into ``out_dir``. Returns the BatchResult.

    ``course``, a grader.course.apply.CourseSetup (roster, overrides, late policy), makes it grade
    each student's latest submission under their roster key and give each their final grade.

    With ``roster`` and ``secret`` (files), every student is graded against their own inputs
    (grader/students.py; ``inputs_dir`` and ``expected_dir`` are then not read) and the class gets
    the per-student flags of grader/batch/peer_flags.py.

    With ``shard`` (a batch.shards.Shard), grade its slice of the class only and write, instead of
    the class's files, the part a merge reads (batch/shards.py); the result has no flags.

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
                           generated_at or timestamp(), plan, shard)


def _grade_into(out_dir, context, listed, sources, jobs, seconds, progress, generated_at, plan,
                shard=None):
    finish = plan.finish if plan is not None else None
    names = feedback_names(source.id for source in sources)
    class_ids = [source.id for source in sources]
    if shard is not None:
        sources, names = shard.slice(sources), shard.slice(names)
    feedback_dir = out_dir / FEEDBACK_DIR
    outdir.remove_stale_pages(feedback_dir, names)
    spooling = (shard_spool(out_dir) if shard is not None
                else tempfile.TemporaryFile("w+", encoding="utf-8", dir=out_dir))
    with spooling as spool:
        tasks = list(zip(sources, (feedback_dir / name for name in names)))
        jobs = worker_count(jobs, tasks)
        if progress is not None:
            with progress(len(tasks)) as bar:
                results = grade_all(tasks, context, jobs, seconds, generated_at,
                                    on_result=lambda: bar.update(1), finish=finish, spool=spool)
        else:
            results = grade_all(tasks, context, jobs, seconds, generated_at, finish=finish,
                                spool=spool)
        batch = BatchResult(context.assignment.name, results, generated_at,
                            ignored=[printable(path.name) for path in listed.ignored],
                            renamed=[source.note for source in sources if source.note],
                            course=plan.summary() if plan is not None else None)
        if shard is not None:  # the flags are the merge's: they need the whole class
            write_shard_manifest(out_dir, shard, batch, context, class_ids)
            return batch
        if isinstance(context, StudentContexts):  # expected/ is not what these students are graded against
            batch.flag_groups = find_flags(results, None, context.assignment, context.shared.inputs)
            find_peer_flags(results)
        else:
            batch.flag_groups = find_flags(results, context.expected.manifest, context.assignment,
                                           context.inputs)
        spool.seek(0)
        _write(write_results_json, out_dir / "results.json", batch, spool)
    gradebook = write_gradebook if plan is None else write_class_gradebook
    _write(gradebook, out_dir / "gradebook.csv", batch, context.assignment)
    _write(write_class_report, out_dir, batch, context.assignment, generated_at, names)
    return batch
