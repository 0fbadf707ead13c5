"""Where results go: `batch --out` and `check --json/--html`, checked before anything is graded.

An operator's slip must cost one clear line, never a traceback after an hour of grading, and
never a student: ``--out`` equal to ROOT (the next run would grade ``feedback/`` as a student),
inside a student's submission (that student silently dropped, or their folder filled with
reports), under a file, or holding a folder where results.json must go, are all refused first.
One batch at a time writes into an --out (a lock on the folder); a second is refused, and what
a killed batch left behind (its spool folder, half-written temporaries) is removed by the next.
"""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from grader.errors import GraderError
from grader.report.names import FEEDBACK_DIR

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one batch at a time is then the operator's care
    fcntl = None

REPORT_FILES = ("results.json", "gradebook.csv", "report.html")
SPOOL_PREFIX = ".results-"


def submissions_to_grade(listed, root, out_dir):
    """The listed submissions under ``root`` minus an earlier run's ``out_dir``, after refusing an
    ``out_dir`` that is ROOT itself or inside a student's submission."""
    root, out = Path(root).resolve(), Path(out_dir).resolve()
    if out == root:
        raise GraderError(f"--out {out_dir} is ROOT itself: its reports would be graded as a "
                          "submission next time; choose a folder outside ROOT")
    if root not in out.parents:
        return list(listed)
    top = root / out.relative_to(root).parts[0]
    for source in listed:
        if Path(source.path).resolve() != top:
            continue
        if top == out and is_results_folder(out):
            return [s for s in listed if s is not source]  # an earlier run's reports
        raise GraderError(f"--out {out_dir} is inside ROOT, in the submission of {source.id}: "
                          "its reports would replace or join that student's work; choose a "
                          "folder outside ROOT")
    return list(listed)


def is_results_folder(folder):
    """Whether ``folder`` holds what a batch writes (and so is no student's)."""
    return all((Path(folder) / name).is_file() for name in ("results.json", "report.html"))


def prepare(out_dir):
    """Make ``out_dir`` and its feedback folder, and check that every result file can be
    written there; a GraderError, before any grading, if not."""
    out_dir = Path(out_dir)
    feedback = out_dir / FEEDBACK_DIR
    try:
        feedback.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GraderError(f"cannot make the folder for results: {e.strerror}",
                          path=e.filename or out_dir) from None
    for name in REPORT_FILES:
        if (out_dir / name).is_dir():
            raise GraderError(f"{name} is a folder there, where the batch writes a file; move "
                              "it away or choose another --out", path=out_dir)
    for folder in (out_dir, feedback):
        probe_writable(folder)


def check_output_file(path):
    """Check, before grading, that a result file can be written at ``path`` (`check --json`,
    `--html`): its folder is made if missing; a GraderError if it cannot be."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GraderError(f"cannot make the folder for {path.name}: {e.strerror}",
                          path=e.filename or path.parent) from None
    if path.is_dir():
        raise GraderError("is a folder; give a file name", path=path)
    probe_writable(path.parent)


def probe_writable(folder):
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".cnngrade-probe-")
    except OSError as e:
        raise GraderError(f"cannot write there: {e.strerror}", path=folder) from None
    os.close(fd)
    os.unlink(probe)


@contextmanager
def locked(out_dir):
    """Hold ``out_dir`` for one batch: a second batch writing there meanwhile is refused."""
    if fcntl is None:
        yield
        return
    fd = os.open(out_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GraderError("another cnngrade batch is writing its results here; wait for it "
                              "to finish, or choose another --out", path=out_dir) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def remove_leftovers(out_dir):
    """Remove what a batch killed mid-run left in ``out_dir`` (its spool folder, temporaries of
    atomic writes). Only under ``locked``: then no other batch is writing them."""
    out_dir = Path(out_dir)
    for folder in (out_dir, out_dir / FEEDBACK_DIR):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(SPOOL_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.name.startswith(".") and entry.name.endswith(".tmp") \
                    and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)


def remove_stale_pages(feedback_dir, names):
    """Pages of an earlier run for students no longer in the class would mislead: remove them
    (tolerating pages that vanish meanwhile)."""
    keep = set(names)
    try:
        pages = [entry.name for entry in os.scandir(feedback_dir)]
    except OSError:
        return
    for name in pages:
        if name.endswith(".html") and name not in keep:
            try:
                (Path(feedback_dir) / name).unlink(missing_ok=True)
            except IsADirectoryError:
                pass
