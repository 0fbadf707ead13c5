"""Per-student expected outputs: compute_expected once per student against compute_expected_many
over the whole class (grouped, as the peer index of a per-student batch computes them).

    python benchmarks/bench_expected_many.py [--students 1000] [--repeats 5] [--spec PATH]

Each time is the best of ``repeats``, in milliseconds per student; the students' inputs are drawn
(per-student draws from a fixed secret) before the clock starts, and both ways are checked to give
the same bytes. One thread, as bench_reference.py.
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.assignment.generate import compute_expected, compute_expected_many  # noqa: E402
from grader.assignment.per_student import Secret, student_draw  # noqa: E402
from grader.assignment.spec import load_spec  # noqa: E402

SECRET = Secret(bytes(range(32)))


def best_ms_per_student(function, students, repeats):
    best = min(_seconds(function) for _ in range(repeats))
    return 1e3 * best / students


def _seconds(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--spec", type=Path, default=ROOT / "assignment.toml")
    args = parser.parse_args()
    assignment = load_spec(args.spec)
    started = time.perf_counter()
    # Every file drawn now (a draw's inputs are drawn as they are first read), as the peer index's
    # computation of the expected outputs reads them all.
    inputs = [dict(student_draw(assignment, SECRET, f"s{k:05d}").inputs)
              for k in range(args.students)]
    draw_ms = 1e3 * (time.perf_counter() - started) / args.students

    one = [compute_expected(assignment, i) for i in inputs]
    many = compute_expected_many(assignment, inputs)
    assert all(a.keys() == b.keys() and all(np.array_equal(a[f].view(np.int64), b[f].view(np.int64))
                                            for f in a) for a, b in zip(one, many))
    one_ms = best_ms_per_student(lambda: [compute_expected(assignment, i) for i in inputs],
                                 args.students, args.repeats)
    many_ms = best_ms_per_student(lambda: compute_expected_many(assignment, inputs),
                                  args.students, args.repeats)
    print(f"{args.students} students of {args.spec.name}, best of {args.repeats}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| way | ms per student | seconds for the class |")
    print("|---|---:|---:|")
    for way, ms in (("compute_expected, one call per student", one_ms),
                    ("compute_expected_many, one call", many_ms)):
        print(f"| {way} | {ms:.3f} | {ms * args.students / 1e3:.2f} |")
    print(f"compute_expected_many is {one_ms / many_ms:.1f}x faster; drawing a student's inputs "
          f"(not timed above) takes {draw_ms:.3f} ms")


if __name__ == "__main__":
    main()
