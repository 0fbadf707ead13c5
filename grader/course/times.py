"""When each submission was handed in, from the most trusted source there is.

1. **The LMS's own record.** Moodle's grading worksheet (the roster, when it is one) has each
   student's ``Last modified (submission)``, written by Moodle's ``userdate()`` as
   ``Tuesday, 1 October 2024, 11:59 PM`` in the downloading user's time zone, which it does not
   write: it is read in the late policy's ``timezone`` (late.py). ISO 8601 is read too.
2. **Canvas's LATE marker.** A Canvas download names no time, and the files in it carry the time
   of the download (canvas-lms ``ContentZipper`` writes every entry with ``get_output_stream``,
   which stamps it "now"): their file times mean nothing. Canvas marks an upload made after its
   due time ``LATE``; one without the marker is on time.
3. **The file's modification time**, as a last resort, and marked so everywhere it is shown: a
   Canvas upload marked LATE, a Moodle download without the worksheet, a plain folder. For a
   folder, its newest file (unzipping keeps the times the LMS stored); for a zip, the zip's.

(Gradescope's export records each submission's time in its metadata; reading it waits for the
Gradescope export reader.)
"""
import os
import re
import stat
from itertools import islice
from datetime import datetime, timezone

from grader.errors import GraderError
from grader.course.grades import SubmissionTime

_MOODLE_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M",
                   "%d %B %Y, %H:%M")
_NO_TIME = {"", "-", "\u2013"}
_MAX_FILES = 10_000  # a folder's files looked at for its newest time; a hand-in has a few dozen


def worksheet_time(text, policy, where):
    """The aware datetime of a worksheet's submission time ``text``, or None where it gives none
    (``-``). Raises GraderError naming ``where`` (file and row) for text it cannot read."""
    text = " ".join(str(text).split())
    if text in _NO_TIME:
        return None
    for form in _MOODLE_FORMATS:
        try:
            return policy.localize(datetime.strptime(text, form))
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(re.sub(r"Z\Z", "+00:00", text))
    except ValueError:
        raise GraderError(f"'Last modified (submission)' {text!r} is not a time such as "
                          "'Tuesday, 1 October 2024, 11:59 PM' (Moodle's English format) or "
                          "2024-10-01T23:59+08:00", path=where[0], line=where[1]) from None
    return moment if moment.tzinfo is not None else policy.localize(moment)


def submission_time(source, name, recorded=None):
    """The SubmissionTime of the listed ``source`` (a SubmissionSource) whose entry name reads as
    ``name`` (lms.SubmissionName); ``recorded`` is the LMS's own time for it, if any."""
    lms_late = name.late if name.lms == "canvas" else None
    if recorded is not None:
        return SubmissionTime(recorded, "moodle_worksheet", lms_late)
    if name.lms == "canvas" and not name.late:
        return SubmissionTime(None, "canvas_on_time", False)
    return SubmissionTime(file_time(source.path), "file_time", lms_late)


def file_time(path):
    """The modification time (aware, UTC) of a zip, or of the newest regular file in a folder
    (the folder's own when it holds none), or None if it cannot be read; links are never
    followed."""
    try:
        info = os.lstat(path)
    except OSError:  # gone since it was listed: grading will say so
        return None
    if not stat.S_ISDIR(info.st_mode):
        return datetime.fromtimestamp(info.st_mtime, timezone.utc)
    times = [mtime for mtime in islice(_file_times(path), _MAX_FILES) if mtime is not None]
    return datetime.fromtimestamp(max(times, default=info.st_mtime), timezone.utc)


def _file_times(folder):
    """The modification time of each regular file under ``folder`` (None for anything else)."""
    for parent, _, files in os.walk(folder):  # never follows links
        for file in files:
            try:
                entry = os.lstat(os.path.join(parent, file))
            except OSError:
                yield None
                continue
            yield entry.st_mtime if stat.S_ISREG(entry.st_mode) else None
