"""Batch grading throughput: K correct students (distinct dropout masks) graded with --jobs 1
and --jobs 2, every HTML page written. Prints submissions per second and peak memory, for two
class sizes, so that "memory flat in K" can be read off.

    python benchmarks/bench_batch.py [--sizes 200 800]

Each run is a fresh process, so its peak resident memory (its own plus its workers') is its own.
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


def run_once(root, out, jobs):
    """Grade ``root`` in this process; print elapsed seconds, peak RSS and the scores."""
    from grader.batch.run import grade_batch

    started = time.perf_counter()
    batch = grade_batch(root, spec_path=ROOT / "assignment.toml", inputs_dir=ROOT / "input_files",
                        expected_dir=ROOT / "expected", out_dir=out, jobs=jobs)
    elapsed = time.perf_counter() - started
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"elapsed": elapsed, "peak_mib": peak_kib / 1024,
                      "full_marks": sum(s.score == s.max_score for s in batch.submissions),
                      "count": len(batch.submissions),
                      "pages": len(list((Path(out) / "feedback").glob("*.html")))}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 800])
    parser.add_argument("--run", nargs=3, metavar=("ROOT", "OUT", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_once(Path(args.run[0]), Path(args.run[1]), int(args.run[2]))
        return
    print("| students | jobs | seconds | submissions/s | peak memory (MiB, largest process) | "
          "full marks | feedback pages |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.sizes:
            root = Path(tmp) / f"class{count}"
            make_class(root, count)
            for jobs in (1, 2):
                out = Path(tmp) / f"out{count}-{jobs}"
                line = subprocess.run([sys.executable, __file__, "--run", str(root), str(out),
                                       str(jobs)], capture_output=True, text=True, check=True)
                r = json.loads(line.stdout.strip().splitlines()[-1])
                print(f"| {count} | {jobs} | {r['elapsed']:.2f} | {count / r['elapsed']:.0f} | "
                      f"{r['peak_mib']:.0f} | {r['full_marks']}/{r['count']} | {r['pages']} |",
                      flush=True)


if __name__ == "__main__":
    main()
