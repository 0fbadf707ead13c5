"""A class whose students all share one dropout mask (a course skeleton that seeds the RNG):
results.json's size, the time and the peak memory as the class grows. Grouped flags keep all
three linear: doubling the class doubles them (listing every other member in every member's
flag made results.json 26 MB -> 92 MB -> 349 MB at 800, 1,600 and 3,200 students).

    python benchmarks/bench_shared_masks.py [--sizes 800 1600 3200] [--jobs 2]
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
sys.path.insert(0, str(ROOT / "examples"))


def make_class(root, count):
    from make_example_class import correct_outputs, texts
    from grader.assignment.generate import read_inputs
    from grader.assignment.spec import load_spec

    assignment = load_spec(ROOT / "assignment.toml")
    inputs = read_inputs(assignment, ROOT / "input_files")
    shared = texts(assignment, correct_outputs(assignment, inputs, seed=0))
    for i in range(count):
        folder = root / f"e{i:07d}x" / "output_files"
        folder.mkdir(parents=True)
        for name, text in shared.items():
            (folder / name).write_text(text)


def run_once(root, out, jobs):
    from grader.batch.run import grade_batch

    started = time.perf_counter()
    batch = grade_batch(root, spec_path=ROOT / "assignment.toml", inputs_dir=ROOT / "input_files",
                        expected_dir=ROOT / "expected", out_dir=out, jobs=jobs)
    elapsed = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"elapsed": elapsed, "peak_mib": peak_kib / 1024,
                      "results_mb": (Path(out) / "results.json").stat().st_size / 1e6,
                      "report_mb": (Path(out) / "report.html").stat().st_size / 1e6,
                      "groups": [len(g.members) for g in batch.flag_groups]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[800, 1600, 3200])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--run", nargs=3, metavar=("ROOT", "OUT", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_once(Path(args.run[0]), Path(args.run[1]), int(args.run[2]))
        return
    print("| students sharing one mask | jobs | seconds | results.json MB | report.html MB | "
          "peak memory (MiB, largest process) | flag groups (members) |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.sizes:
            root = Path(tmp) / f"class{count}"
            make_class(root, count)
            out = Path(tmp) / f"out{count}"
            line = subprocess.run([sys.executable, __file__, "--run", str(root), str(out),
                                   str(args.jobs)], capture_output=True, text=True, check=True)
            r = json.loads(line.stdout.strip().splitlines()[-1])
            print(f"| {count} | {args.jobs} | {r['elapsed']:.2f} | {r['results_mb']:.1f} | "
                  f"{r['report_mb']:.1f} | {r['peak_mib']:.0f} | "
                  f"{', '.join(map(str, r['groups']))} |", flush=True)


if __name__ == "__main__":
    main()
