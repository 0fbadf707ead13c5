"""Batch grading throughput: K correct students (distinct dropout masks) graded with --jobs 1
and --jobs 2, every HTML page written. Prints submissions per second and peak memory, for two
class sizes, so that "memory flat in K" can be read off.

    python benchmarks/bench_batch.py [--sizes 200 800]

Each class is graded twice: with the shared inputs, and with per-student inputs (a roster and a
secret; every student hands in correct outputs for their own inputs, except the last, who hands
in the first student's files, so the peer search runs too). Each run is a fresh process, so its
peak resident memory (its own plus its workers') is its own.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_class(root, count):
    from grader.assignment.generate import read_inputs
    from grader.assignment.spec import load_spec
    from grader.simulate import correct_outputs, texts

    assignment = load_spec(ROOT / "assignment.toml")
    inputs = read_inputs(assignment, ROOT / "input_files")
    base = texts(assignment, correct_outputs(assignment, inputs, seed=0))
    for i in range(count):
        folder = root / f"e{i:07d}x" / "output_files"
        folder.mkdir(parents=True)
        # Deterministic outputs are the same for everyone; the dropout masks differ per student.
        files = dict(base)
        files.update({name: text for name, text in
                      texts(assignment, correct_outputs(assignment, inputs, seed=i + 1)).items()
                      if "train" in name})
        for name, text in files.items():
            (folder / name).write_text(text)


def make_per_student_class(root, count):
    """A class of ``count`` students with their own inputs, with its roster and secret files
    (beside ``root``); the last student hands in the first one's files. Returns (roster, secret)."""
    import secrets
    import shutil

    from grader.assignment.per_student import read_secret
    from grader.assignment.spec import load_spec
    from grader.simulate import correct_outputs, texts
    from grader.assignment.students import StudentContexts

    assignment = load_spec(ROOT / "assignment.toml")
    secret_path = root.parent / f"{root.name}.key"
    secret_path.write_text(secrets.token_hex(32) + "\n")
    secret = read_secret(secret_path)
    ids = [f"e{i:07d}x" for i in range(count)]
    roster_path = root.parent / f"{root.name}-roster.csv"
    roster_path.write_text("student_id\n" + "".join(f"{sid}\n" for sid in ids))
    contexts = StudentContexts(assignment, secret, ids)
    for i, sid in enumerate(ids):
        folder = root / sid / "output_files"
        if i == count - 1 and count > 1:
            shutil.copytree(root / ids[0], root / sid)
            continue
        folder.mkdir(parents=True)
        inputs = contexts.choice(sid).chosen.inputs  # the draw handed out (a few are redrawn)
        for name, text in texts(assignment, correct_outputs(assignment, inputs, seed=i + 1)).items():
            (folder / name).write_text(text)
    return roster_path, secret_path


def run_once(root, out, jobs, roster=None, secret=None):
    """Grade ``root`` in this process; print elapsed seconds, peak RSS and the scores."""
    from grader.batch.run import grade_batch

    cpu_before = sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                       resource.getrusage(resource.RUSAGE_CHILDREN)))
    started = time.perf_counter()
    batch = grade_batch(root, spec_path=ROOT / "assignment.toml", inputs_dir=ROOT / "input_files",
                        expected_dir=ROOT / "expected", out_dir=out, jobs=jobs, roster=roster,
                        secret=secret)
    elapsed = time.perf_counter() - started
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage) - cpu_before
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"elapsed": elapsed, "cpu": cpu, "peak_mib": peak_kib / 1024,
                      "full_marks": sum(s.score == s.max_score for s in batch.submissions),
                      "count": len(batch.submissions),
                      "flagged": sorted(s.id for s in batch.submissions
                                        if any(f.code == "peer_outputs" for f in s.flags)),
                      "pages": len(list((Path(out) / "feedback").glob("*.html")))}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 800])
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each configuration; the fastest is printed (this machine is "
                             "shared: single runs vary by 20%% or more)")
    parser.add_argument("--run", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # ROOT OUT JOBS [ROSTER SECRET]
        paths = [Path(a) for a in args.run[3:5]] or [None, None]
        run_once(Path(args.run[0]), Path(args.run[1]), int(args.run[2]), *paths)
        return
    print("| inputs | students | jobs | seconds | submissions/s | CPU seconds | peak memory (MiB, "
          "largest process) | full marks | feedback pages |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.sizes:
            shared_root = Path(tmp) / f"class{count}"
            make_class(shared_root, count)
            student_root = Path(tmp) / f"per-student{count}"
            roster, secret = make_per_student_class(student_root, count)
            for kind, root, extra in (("shared", shared_root, []),
                                      ("per student", student_root, [str(roster), str(secret)])):
                for jobs in (1, 2):
                    out = Path(tmp) / f"out-{root.name}-{jobs}"
                    runs = [json.loads(subprocess.run(
                        [sys.executable, __file__, "--run", str(root), str(out), str(jobs), *extra],
                        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
                        for _ in range(args.repeat)]
                    r = min(runs, key=lambda run: run["elapsed"])
                    print(f"| {kind} | {count} | {jobs} | {r['elapsed']:.2f} | "
                          f"{count / r['elapsed']:.0f} | {r['cpu']:.2f} | {r['peak_mib']:.0f} | "
                          f"{r['full_marks']}/{r['count']} | {r['pages']} |", flush=True)
                    if kind == "per student" and len(r["flagged"]) != min(count, 2):
                        raise SystemExit(f"expected one copied pair flagged, got {r['flagged']}")


if __name__ == "__main__":
    main()
