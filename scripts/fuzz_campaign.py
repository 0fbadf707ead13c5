"""The long fuzzing campaign: tens of thousands of hostile files, read one by one and graded as
whole submissions by the batch, counting crashes, hangs and invalid outputs.

    python scripts/fuzz_campaign.py [--files 20000] [--submissions 2000] [--seed 1] [--jobs 2]
                                    [--keep failures/]

Two parts, both seeded (the same seed gives the same cases):

- files: each a correct output file damaged by one mutation of tests/mutations.py (flipped
  bytes, truncation, odd and long tokens, encodings, wrong counts, random bytes...), read and
  parsed directly. A crash is any exception but the reader's SubmissionError; a hang is a file
  that takes more than a second; an invalid output is values that are not finite float64 of the
  right shape, or a refusal whose message is not printable.
- submissions: whole submissions made by tests/mutations.py (some files damaged, files
  misnamed, missing or copied, links out, FIFOs, zips, damaged zips), graded by `grade_batch`
  in chunks with a 10 s time limit. A crash is a batch that raises or a submission the grader
  failed on (left ungraded); a hang is a submission stopped by the time limit; an invalid output
  is a result that breaks what tests/mutations.py's ``problems`` checks, a results.json that
  does not parse, a gradebook without a row per student, a missing feedback page or one with a
  terminal escape in it.

Failing cases are copied to --keep, if given. Exit status 1 if anything failed.
"""
import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from grader.batch.run import grade_batch  # noqa: E402
from grader.errors import SubmissionError  # noqa: E402
from grader.pipeline import load_context  # noqa: E402
from grader.limits import grading_limits  # noqa: E402
from grader.intake.reading import parse_array  # noqa: E402

from mutations import mutate_bytes, problems, write_mutated  # noqa: E402
from grader.simulate import correct_outputs, texts  # noqa: E402
from simulated import EXPECTED, INPUTS, SPEC  # noqa: E402

HANG_SECONDS_FILE = 1.0
TIME_LIMIT = 10.0  # per submission in the batch; a correct one takes milliseconds
CHUNK = 250  # submissions per batch


class Tally:
    def __init__(self, keep):
        self.keep = keep
        self.counts = {"crashes": 0, "hangs": 0, "invalid outputs": 0}
        self.examples = []

    def fail(self, kind, what, case=None):
        self.counts[kind] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {what}")
        if self.keep and case is not None:
            target = self.keep / f"{kind.replace(' ', '-')}-{self.counts[kind]}"
            if case.is_dir():
                shutil.copytree(case, target, symlinks=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(case, target / case.name)


def fuzz_files(count, rng, bases, tally, scratch):
    """Read ``count`` mutated files; returns the slowest read in seconds."""
    slowest = 0.0
    for i in range(count):
        name, shape, data = rng.choice(bases)
        data = mutate_bytes(rng, data)
        started = time.perf_counter()
        try:
            with grading_limits(30):
                values = parse_array(data, name, shape)
        except SubmissionError as e:
            if not e.message.isprintable():
                tally.fail("invalid outputs", f"file {i}: unprintable message {e.message!r:.80}",
                           _save(scratch, i, name, data))
        except Exception as e:  # noqa: BLE001 - what the campaign is looking for
            tally.fail("crashes", f"file {i}: {type(e).__name__}: {e}", _save(scratch, i, name, data))
        else:
            if values.shape != tuple(shape) or not np.isfinite(values).all():
                tally.fail("invalid outputs", f"file {i}: values of shape {values.shape}",
                           _save(scratch, i, name, data))
        elapsed = time.perf_counter() - started
        slowest = max(slowest, elapsed)
        if elapsed > HANG_SECONDS_FILE:
            tally.fail("hangs", f"file {i}: {elapsed:.1f} s to read", _save(scratch, i, name, data))
    return slowest


def _save(scratch, i, name, data):
    path = scratch / f"file{i}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.parent


def fuzz_submissions(count, rng, context, tally, scratch, jobs):
    """Grade ``count`` mutated submissions in batches; returns (files damaged, seconds)."""
    assignment = context.assignment
    students = [{name: text.encode() for name, text in
                 texts(assignment, correct_outputs(assignment, context.inputs, seed)).items()}
                for seed in range(8)]
    damaged, elapsed = 0, 0.0
    for start in range(0, count, CHUNK):
        root = scratch / f"class{start}"
        root.mkdir()
        for i in range(start, min(count, start + CHUNK)):
            _, n = write_mutated(rng, root / f"e{i:06d}", rng.choice(students))
            damaged += n
        out = scratch / f"out{start}"
        began = time.perf_counter()
        try:
            batch = grade_batch(root, spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED,
                                out_dir=out, jobs=jobs, seconds=TIME_LIMIT)
        except Exception as e:  # noqa: BLE001
            tally.fail("crashes", f"batch {start}: {type(e).__name__}: {e}", root)
            continue
        finally:
            elapsed += time.perf_counter() - began
        _check_batch(batch, assignment, root, out, tally)
        shutil.rmtree(root)
        shutil.rmtree(out)
    return damaged, elapsed


def _check_batch(batch, assignment, root, out, tally):
    cases = {path.name.removesuffix(".zip"): path for path in root.iterdir()}
    for submission in batch.submissions:
        case = cases.get(submission.id)
        if not submission.graded:
            tally.fail("crashes", f"{submission.id}: {submission.error}", case)
        elif submission.error and "grading took longer than" in submission.error:
            tally.fail("hangs", f"{submission.id}: {submission.error}", case)
        else:
            for problem in problems(submission, assignment):
                tally.fail("invalid outputs", f"{submission.id}: {problem}", case)
    try:
        data = json.loads((out / "results.json").read_text("utf-8"))
        rows = len(pd.read_csv(out / "gradebook.csv"))
    except (OSError, ValueError) as e:
        tally.fail("invalid outputs", f"results of {root.name}: {e}", root)
        return
    if len(data["submissions"]) != len(batch.submissions) or rows != len(batch.submissions):
        tally.fail("invalid outputs", f"{root.name}: results or gradebook miss students", root)
    pages = {page.name: page for page in (out / "feedback").glob("*.html")}
    if len(pages) != len(batch.submissions):
        tally.fail("invalid outputs", f"{root.name}: {len(pages)} feedback pages for "
                                      f"{len(batch.submissions)} students", root)
    for name, page in pages.items():
        if "\x1b" in page.read_text("utf-8"):
            tally.fail("invalid outputs", f"{name}: a terminal escape in the page", root)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--submissions", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="copy failing cases here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    context = load_context(SPEC, INPUTS, EXPECTED)
    assignment = context.assignment
    files = texts(assignment, correct_outputs(assignment, context.inputs, 0))
    bases = [(o.filename, o.shape, files[o.filename].encode()) for o in assignment.outputs]
    tally = Tally(args.keep)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        slowest = fuzz_files(args.files, rng, bases, tally, scratch)
        files_seconds = time.perf_counter() - started
        damaged, batch_seconds = fuzz_submissions(args.submissions, rng, context, tally,
                                                  scratch, args.jobs)
    print(f"files read: {args.files:,} in {files_seconds:.1f} s (slowest {slowest * 1000:.1f} ms)")
    print(f"submissions graded: {args.submissions:,} ({damaged:,} damaged files) in "
          f"{batch_seconds:.1f} s with --jobs {args.jobs}")
    print(f"fuzzed files in all: {args.files + damaged:,}; seed {args.seed}")
    print(", ".join(f"{n} {kind}" for kind, n in tally.counts.items()))
    for example in tally.examples:
        print(f"  {example}")
    return 1 if any(tally.counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
