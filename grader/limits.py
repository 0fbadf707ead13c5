"""The limits one submission is graded under, in `cnngrade check` and `cnngrade batch` alike:
the time allowed, and NumPy's floating-point errors kept off the terminal.

The time limit is a SIGALRM timer in the grading thread. When it fires, TimeLimitExceeded unwinds the
grading; it is not a SubmissionError, so that no handler meant for a bad file takes it for one
(a file-level handler once did, and the student read "internal error ... NoneType"). On its way
out of an output's grading it picks up the name of the file being read, for the message.

A student's values may be anything finite: 1e308 overflows in a difference or a statistic, and
NumPy would print a RuntimeWarning on the instructor's terminal for each kind. The results
already treat what overflows (figures are kept finite for the JSON), so those warnings are noise.
"""
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

DEFAULT_TIME_LIMIT = 60.0  # seconds per submission; a correct one takes milliseconds


class TimeLimitExceeded(Exception):
    """Grading one submission took longer than ``seconds``; ``file`` is the file being read
    when the limit fired, as the student names it (None before any output was reached)."""

    def __init__(self, seconds, file=None):
        super().__init__(seconds, file)
        self.seconds = seconds
        self.file = file

    def __str__(self):
        where = f" while reading {self.file}" if self.file else ""
        return (f"grading took longer than {self.seconds:g} s, the time allowed for one "
                f"submission, and was stopped{where}; the outputs were not graded. Files that "
                "make_outputs.py writes take milliseconds to grade")


@contextmanager
def time_limit(seconds):
    """Raise TimeLimitExceeded in this thread after ``seconds``: only in the main thread (where
    signals are delivered), a no-op elsewhere or when ``seconds`` is None or 0."""
    if (not seconds or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expire(signum, frame):
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def reading(file, folder=None):
    """Name ``file`` (relative to ``folder``, as the student knows it) in a TimeLimitExceeded
    that fires inside the block."""
    try:
        yield
    except TimeLimitExceeded as e:
        if e.file is None:
            e.file = _relative(file, folder)
        raise


def _relative(file, folder):
    try:
        return Path(file).relative_to(folder).as_posix()
    except (TypeError, ValueError):
        return Path(file).name


@contextmanager
def grading_limits(seconds):
    """Grade one submission within ``seconds`` (see time_limit), NumPy's floating-point warnings
    silenced."""
    with time_limit(seconds), np.errstate(all="ignore"):
        yield
