"""Batch grading throughput: K correct students (distinct dropout masks) graded with --jobs 1
and --jobs 2, every feedback page, results.json, the gradebook and the report written.

    python benchmarks/bench_batch.py [--sizes 1000] [--runs 3] [--jobs 1 2] [--distinct] [--per-student]

Each run is a fresh process timing ``grade_batch`` (imports and building the class excluded), so
its peak resident memory (its own plus its workers') is its own. For each class size and number of
workers the table gives the spread over the runs: submissions per second (median, slowest,
fastest), the CPU time per submission (the run's and its workers' user + system time: what the
grading costs whatever else the machine is doing), the CPU other processes used meanwhile (in
cores, from /proc/stat: 0 on a quiet machine), peak memory, and the ratios that say whether the
issue's targets are met (500/s with --jobs 2, 250/s with --jobs 1) and what a second worker buys.
On a busy machine the wall-clock rates fall while the CPU time per submission stays put. Memory
flat in K can be read off by giving two sizes (``--sizes 200 1000``).

The class is what correct students hand in: the same bytes for every deterministic output (the
hand-out writes them with ``%.18e``, and correct code computes them alike), their own dropout
masks. A context judges bytes it has seen once (pipeline.JudgedFiles); ``--distinct`` also grades
a class where every student's deterministic values are nudged by a relative 1e-12 (well within
tolerance) so that no two files are alike: the figure for a class whose every file must be
parsed and judged. ``--per-student`` also grades a class with per-student inputs (where no two
files are alike either), and gives its rate as a fraction of each shared class's.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {1: 250.0, 2: 500.0}  # submissions/s (issue 16)


def make_class(root, count, distinct=False):
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
        outputs = correct_outputs(assignment, inputs, seed=i + 1)
        files = dict(base)
        if distinct:
            files = texts(assignment, {name: values * (1 + (i + 1) * 1e-12) if "train" not in name
                                       else values for name, values in outputs.items()})
        files.update({name: text for name, text in texts(assignment, outputs).items()
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
    """Grade ``root`` in this process; print elapsed seconds, CPU seconds, peak RSS and counts.
    With ``roster`` and ``secret``, every student against their own inputs."""
    from grader.batch.run import grade_batch

    before = _cpu_seconds()
    started = time.perf_counter()
    batch = grade_batch(root, spec_path=ROOT / "assignment.toml", inputs_dir=ROOT / "input_files",
                        expected_dir=ROOT / "expected", out_dir=out, jobs=jobs, roster=roster,
                        secret=secret)
    elapsed = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"elapsed": elapsed, "cpu": _cpu_seconds() - before,
                      "peak_mib": peak_kib / 1024,
                      "full_marks": sum(s.score == s.max_score for s in batch.submissions),
                      "count": len(batch.submissions),
                      "pages": len(list((Path(out) / "feedback").glob("*.html"))),
                      "outputs": all((Path(out) / name).is_file()
                                     for name in ("results.json", "gradebook.csv", "report.html"))}))


def _cpu_seconds():
    """User + system time of this process and of its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(root, out, jobs, extra=()):
    busy, ours, started = _machine_busy(), _children_cpu(), time.perf_counter()
    line = subprocess.run([sys.executable, __file__, "--run", str(root), str(out), str(jobs),
                           *extra], capture_output=True, text=True, check=True)
    result = json.loads(line.stdout.strip().splitlines()[-1])
    if busy is not None:  # what other processes used while the run's process lived
        others = (_machine_busy() - busy) - (_children_cpu() - ours)
        result["others"] = max(0.0, others) / (time.perf_counter() - started)
    return result


def _children_cpu():
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _machine_busy():
    """CPU seconds the whole machine has spent busy (Linux's /proc/stat), or None."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def machine():
    cpus = os.cpu_count()
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def load():
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size and --jobs")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--distinct", action="store_true",
                        help="no two students' files alike (every file parsed and judged)")
    parser.add_argument("--per-student", action="store_true",
                        help="also grade a class with per-student inputs (a roster and a secret; "
                             "the last student hands in the first one's files)")
    parser.add_argument("--run", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_once(Path(args.run[0]), Path(args.run[1]), int(args.run[2]),
                 *[Path(p) for p in args.run[3:]])
        return
    print(f"machine: {machine()}; before: {load()}")
    print("classes: shared inputs with the deterministic outputs alike and the dropout masks each "
          "student's own" + ("; shared inputs with every file distinct" if args.distinct else "")
          + ("; per-student inputs" if args.per_student else ""))
    print("| students | jobs | submissions/s: median (slowest-fastest) | CPU ms per submission | "
          "others' CPU (cores) | peak MiB | target | full marks, pages |")
    print("|---:|---:|---|---:|---:|---:|---|---|")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        classes = []
        for count in args.sizes:
            root = Path(tmp) / f"class{count}"
            make_class(root, count)
            classes.append((count, "shared", root, ()))
            if args.distinct:
                distinct_root = Path(tmp) / f"distinct{count}"
                make_class(distinct_root, count, distinct=True)
                classes.append((count, "shared distinct", distinct_root, ()))
            if args.per_student:
                student_root = Path(tmp) / f"students{count}"
                roster, secret = make_per_student_class(student_root, count)
                classes.append((count, "per student", student_root, (str(roster), str(secret))))
        for count, kind, root, extra in classes:
            for jobs in args.jobs:
                name = kind.replace(" ", "-")
                runs = [measure(root, Path(tmp) / f"out{count}-{name}-{jobs}-{i}", jobs, extra)
                        for i in range(args.runs)]
                per_s = sorted(count / r["elapsed"] for r in runs)
                cpu_ms = statistics.median(1000 * r["cpu"] / count for r in runs)
                others = [r["others"] for r in runs if "others" in r]
                others = f"{statistics.median(others):.2f}" if others else "\u2013"
                rates[count, kind, jobs] = rate = statistics.median(per_s)
                target = TARGETS.get(jobs) if kind == "shared" else None
                verdict = (f"{rate / target:.2f}x of {target:.0f}/s" if target
                           else ", ".join(f"{rate / rates[count, shared, jobs]:.2f}x {shared}"
                                          for shared in ("shared", "shared distinct")
                                          if shared != kind and (count, shared, jobs) in rates))
                # The per-student class's last student copies the first: not full marks.
                complete = all(r["full_marks"] >= count - (kind == "per student") and
                               r["pages"] == count and r["outputs"] for r in runs)
                print(f"| {count} {kind} | {jobs} | {rate:.0f} ({per_s[0]:.0f}-{per_s[-1]:.0f}) "
                      f"| {cpu_ms:.2f} | {others} | {max(r['peak_mib'] for r in runs):.0f} | "
                      f"{verdict} | {'all' if complete else 'INCOMPLETE'} |", flush=True)
    for count in args.sizes:
        if (count, "shared", 1) in rates and (count, "shared", 2) in rates:
            print(f"{count} students: --jobs 2 is "
                  f"{rates[count, 'shared', 2] / rates[count, 'shared', 1]:.2f}x --jobs 1 (median rates)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
