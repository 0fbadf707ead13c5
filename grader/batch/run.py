"""`cnngrade batch`: grade every submission under ROOT in worker processes, then write the
results, the gradebook and the reports, each atomically.

Each submission is graded under a time limit, so nothing a student hands in can stall the batch;
results come back in submission order whatever the number of workers.
"""
import os
import signal
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from grader.errors import SubmissionError
from grader.batch.flags import find_flags
from grader.batch.results_json import submission_line, write_results_json
from grader.batch.shards import shard_spool, write_shard_manifest
from grader.pipeline import failed_submission, grade_submission, load_context
from grader.report.gradebook import write_gradebook
from grader.intake.submissions import list_submissions
from grader.report.names import FEEDBACK_DIR, feedback_names
from grader.report.render import compile_templates, write_class_report, write_feedback
from grader.results import BatchResult, timestamp
from grader.text import printable

DEFAULT_TIME_LIMIT = 60.0  # seconds per submission; a correct one takes milliseconds

class TimeLimitExceeded(SubmissionError):
    pass


@contextmanager
def time_limit(seconds):
    """Raise TimeLimitExceeded in this (main) thread after ``seconds``; no-op off the main thread."""
    if (not seconds or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expire(signum, frame):
        raise TimeLimitExceeded(f"grading took longer than {seconds:g} s and was stopped",
                                code="parse_error")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_worker_context = None
_worker_options = None


def _init_worker(context, options):
    global _worker_context, _worker_options
    _worker_context, _worker_options = context, options


def _grade_one(task):
    return grade_and_write_feedback(task, _worker_context, **_worker_options)


def grade_with_limit(source, context, seconds):
    """Grade one SubmissionSource; a timeout or any failure becomes a failed result, never a crash."""
    try:
        with time_limit(seconds):
            return grade_submission(source.path, context, submission_id=source.id, source=source)
    except SubmissionError as e:
        return failed_submission(source.id, context, str(e))
    except Exception as e:  # a bug of ours must not lose the rest of the class's results
        return failed_submission(source.id, context,
                                 f"internal error while grading ({type(e).__name__}: {e}); "
                                 "please report it")


def grade_and_write_feedback(task, context, seconds, generated_at):
    """Grade ``task = (source, feedback page)``; write its feedback page where the worker is, and
    return the result without the figures only the page and the JSON need, and its full JSON
    (one line, results_json.submission_line).

    Pages are so rendered in parallel, and the main process holds a small summary per student:
    its memory stays flat however large the class.
    """
    source, page = task
    result = grade_with_limit(source, context, seconds)
    try:
        json_text = submission_line(result)
        write_feedback(page, result, context.assignment, generated_at)
    except (ValueError, TypeError, UnicodeError) as e:  # a bug of ours: keep the class's results
        result = failed_submission(source.id, context,
                                   f"internal error while reporting ({type(e).__name__}: {e}); "
                                   "please report it")
        json_text = submission_line(result)
        write_feedback(page, result, context.assignment, generated_at)
    result.checks = [check.without_figures() for check in result.checks]
    return result, json_text


def grade_all(tasks, context, jobs=1, seconds=DEFAULT_TIME_LIMIT, generated_at="", on_result=None,
              spool=None):
    """SubmissionResults for ``tasks`` (source, feedback page) in their order, graded by ``jobs``
    worker processes; each one's JSON line is written to ``spool`` (a text file) in the same order.

    One spool file for the class: a file per student costs more to create than to fill.
    """
    options = {"seconds": seconds, "generated_at": generated_at}
    results = []

    def keep(graded):
        result, json_text = graded
        results.append(result)
        if spool is not None:
            spool.write(json_text + "\n")
        if on_result:
            on_result()

    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            keep(grade_and_write_feedback(task, context, **options))
        return results
    compile_templates()  # before the workers fork: they share the compiled templates
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(context, options)) as pool:
        chunk = max(1, min(16, len(tasks) // (jobs * 4)))
        for graded in pool.map(_grade_one, tasks, chunksize=chunk):
            keep(graded)
        return results


def grade_batch(root, spec_path="assignment.toml", inputs_dir="input_files",
                expected_dir="expected", out_dir="grades", jobs=None,
                seconds=DEFAULT_TIME_LIMIT, progress=None, generated_at=None, shard=None):
    """Grade every submission under ``root`` and write results.json, gradebook.csv, report.html
    and feedback/<id>.html into ``out_dir``. Returns the BatchResult.

    With ``shard`` (a batch.shards.Shard), grade its slice of the class only and write, instead of
    the class's files, the part a merge reads (batch/shards.py); the result has no flags.

    ``progress``, if given, is a callable receiving the number of submissions and returning a
    context manager with an ``update(n)`` method (click.progressbar fits).
    """
    context = load_context(spec_path, inputs_dir, expected_dir, require_expected=True)
    listed = list_submissions(Path(root))
    out_dir = Path(out_dir)
    # --out inside ROOT: an earlier run's reports are not a student.
    out_resolved = out_dir.resolve()
    sources = [source for source in listed if source.path.resolve() != out_resolved]
    generated_at = generated_at or timestamp()
    names = feedback_names(source.id for source in sources)
    class_ids = [source.id for source in sources]
    if shard is not None:
        sources, names = shard.slice(sources), shard.slice(names)
    feedback_dir = out_dir / FEEDBACK_DIR
    _remove_stale_pages(feedback_dir, names)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    spooling = (shard_spool(out_dir) if shard is not None
                else tempfile.TemporaryFile("w+", encoding="utf-8", dir=out_dir))
    with spooling as spool:
        tasks = list(zip(sources, (feedback_dir / name for name in names)))
        jobs = jobs or os.cpu_count() or 1
        if progress is not None:
            with progress(len(tasks)) as bar:
                results = grade_all(tasks, context, jobs, seconds, generated_at,
                                    on_result=lambda: bar.update(1), spool=spool)
        else:
            results = grade_all(tasks, context, jobs, seconds, generated_at, spool=spool)
        batch = BatchResult(context.assignment.name, results, generated_at,
                            ignored=[printable(path.name) for path in listed.ignored])
        if shard is None:
            find_flags(results, context.expected.manifest, context.assignment, context.inputs)
            spool.seek(0)
            write_results_json(out_dir / "results.json", batch, spool)
    if shard is not None:
        write_shard_manifest(out_dir, shard, batch, context, class_ids)
        return batch
    write_gradebook(out_dir / "gradebook.csv", batch, context.assignment)
    write_class_report(out_dir, batch, context.assignment, generated_at, names)
    return batch


def _remove_stale_pages(feedback_dir, names):
    """Pages of an earlier run for students no longer in the class would mislead: remove them."""
    if feedback_dir.is_dir():
        keep = set(names)
        for page in feedback_dir.glob("*.html"):
            if page.name not in keep:
                page.unlink()
