"""Batch grading throughput: K correct students (distinct dropout masks) graded with --jobs 1
and --jobs 2, every feedback page, results.json, the gradebook and the report written.

    python benchmarks/bench_batch.py [--sizes 1000] [--runs 3] [--jobs 1 2] [--distinct]

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
masks. A context judges bytes it has seen once (pipeline.JudgedFiles); ``--distinct`` nudges
every student's deterministic values by a relative 1e-12 (well within tolerance) so that no two
files are alike: the figure for a class whose every file must be parsed and judged.
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


def run_once(root, out, jobs):
    """Grade ``root`` in this process; print elapsed seconds, CPU seconds, peak RSS and counts."""
    from grader.batch.run import grade_batch

    before = _cpu_seconds()
    started = time.perf_counter()
    batch = grade_batch(root, spec_path=ROOT / "assignment.toml", inputs_dir=ROOT / "input_files",
                        expected_dir=ROOT / "expected", out_dir=out, jobs=jobs)
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


def measure(root, out, jobs):
    busy, ours, started = _machine_busy(), _children_cpu(), time.perf_counter()
    line = subprocess.run([sys.executable, __file__, "--run", str(root), str(out), str(jobs)],
                          capture_output=True, text=True, check=True)
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
    parser.add_argument("--run", nargs=3, metavar=("ROOT", "OUT", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_once(Path(args.run[0]), Path(args.run[1]), int(args.run[2]))
        return
    print(f"machine: {machine()}; before: {load()}")
    print("class: " + ("every file distinct" if args.distinct else
                       "deterministic outputs alike, dropout masks each student's own"))
    print("| students | jobs | submissions/s: median (slowest-fastest) | CPU ms per submission | "
          "others' CPU (cores) | peak MiB | target | full marks, pages |")
    print("|---:|---:|---|---:|---:|---:|---|---|")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.sizes:
            root = Path(tmp) / f"class{count}"
            make_class(root, count, args.distinct)
            for jobs in args.jobs:
                runs = [measure(root, Path(tmp) / f"out{count}-{jobs}-{i}", jobs)
                        for i in range(args.runs)]
                per_s = sorted(count / r["elapsed"] for r in runs)
                cpu_ms = statistics.median(1000 * r["cpu"] / count for r in runs)
                others = [r["others"] for r in runs if "others" in r]
                others = f"{statistics.median(others):.2f}" if others else "\u2013"
                rates[count, jobs] = statistics.median(per_s)
                target = TARGETS.get(jobs)
                verdict = (f"{rates[count, jobs] / target:.2f}x of {target:.0f}/s" if target
                           else "\u2013")
                complete = all(r["full_marks"] == count == r["pages"] and r["outputs"] for r in runs)
                print(f"| {count} | {jobs} | {rates[count, jobs]:.0f} ({per_s[0]:.0f}-{per_s[-1]:.0f}) "
                      f"| {cpu_ms:.2f} | {others} | {max(r['peak_mib'] for r in runs):.0f} | "
                      f"{verdict} | {'all' if complete else 'INCOMPLETE'} |", flush=True)
    for count in args.sizes:
        if (count, 1) in rates and (count, 2) in rates:
            print(f"{count} students: --jobs 2 is {rates[count, 2] / rates[count, 1]:.2f}x "
                  "--jobs 1 (median rates)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
