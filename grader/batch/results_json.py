"""results.json, written one submission at a time from each submission's JSON as its worker
wrote it, with the flags that only the whole class shows.

A worker writes a submission's JSON (:func:`submission_line`: one line, the results JSON of
DESIGN.md) before the class's flags exist, so the line holds ``"flags": []``. :func:`with_flags`
puts the flags there as text: the line is never parsed again, and the main process does no more
per student than copy a line. The slot cannot be mistaken for text a student wrote: inside a JSON
string every quote is escaped, so ``"flags": [], "notes": `` only occurs where the submission's own
keys are.
"""
import json

from grader.atomic import atomic_text_writer
from grader.results import to_json

_FLAGS_SLOT = '"flags": [], "notes": '


def submission_line(result):
    """A SubmissionResult's results JSON (``to_dict``) on one line, without its newline, its flags
    left empty: the ones it has already (a per-student check's) travel with the result and are
    put in with the class's by :func:`with_flags`."""
    data = result.to_dict()
    data["flags"] = []
    return to_json(data, indent=None).rstrip("\n")


def with_flags(line, flags):
    """``line`` (from :func:`submission_line`, before any flag was known) with ``flags`` (Flag
    objects) in place of its empty list: the same text as the JSON of the flagged result."""
    if not flags:
        return line
    head, slot, tail = line.partition(_FLAGS_SLOT)
    if not slot:
        raise ValueError("a submission's JSON line without its empty flags list: "
                         f"{line[:80]!r}...")
    flags_json = json.dumps([flag.to_dict() for flag in flags], allow_nan=False)
    return f'{head}"flags": {flags_json}, "notes": {tail}'


def write_results_json(path, batch, lines):
    """Write ``path`` (results.json) atomically for ``batch`` (a BatchResult whose submissions
    carry their flags), from ``lines``: each submission's :func:`submission_line`, in the order
    of ``batch.submissions``, read one at a time (memory stays flat however large the class)."""
    head = to_json({**batch.header(), "submissions": []}, indent=None)
    opening = head[:head.rindex("[") + 1]
    written = 0
    with atomic_text_writer(path, durable=True) as out:
        out.write(opening)
        for submission, line in zip(batch.submissions, lines):
            out.write((", " if written else "") + with_flags(line.rstrip("\n"), submission.flags))
            written += 1
        if written != len(batch.submissions):  # raised inside: the half-written file is dropped
            raise ValueError(f"results.json: {written} JSON lines for {len(batch.submissions)} "
                             "submissions")
        out.write("]}\n")
