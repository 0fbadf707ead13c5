"""Reading time against file size, for well-formed files and for the hostile tokens that made
reading quadratic (a hex-float-like token with one bad character, long runs that patterns
backtrack over). Linear reading keeps the time per KB flat as the size grows.

    python benchmarks/bench_reading.py
"""
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.errors import SubmissionError  # noqa: E402
from grader.intake.reading import parse_values  # noqa: E402

SIZES = (4_000, 16_000, 64_000)
CASES = {
    "well formed (%.18e per line)":
        lambda n: b"".join(b"%.18e\n" % (i / 7) for i in range(n // 25)),
    "0x + hex digits + '!'": lambda n: b"0x" + b"a" * (n - 4) + b"!\n",
    "digits + 'x'": lambda n: b"1" * (n - 2) + b"x\n",
    "values, then a bad token": lambda n: b"1.5 " * (n // 4 - 1) + b"x\n",
    "commas, then an empty value": lambda n: b"1," * (n // 2 - 1) + b",\n",
}


def best_of(function, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def read(data):
    try:
        parse_values(data, "out.csv")
    except SubmissionError:
        pass


def main():
    sizes = " | ".join(f"{n // 1000} KB ms" for n in SIZES)
    print(f"| file | {sizes} | ms per KB, largest / smallest |")
    print("|---|" + "---:|" * (len(SIZES) + 1))
    for name, make in CASES.items():
        times = [best_of(lambda data=make(n): read(data)) * 1000 for n in SIZES]
        per_kb = [t / (n / 1000) for t, n in zip(times, SIZES)]
        cells = " | ".join(f"{t:.2f}" for t in times)
        print(f"| {name} | {cells} | {per_kb[-1] / per_kb[0]:.2f} |")


if __name__ == "__main__":
    main()
