"""Worker processes that lose nothing: a worker killed while grading loses only what it was
working on, which is tried once more and otherwise marked with the reason; a worker stuck past
the hard limit is stopped; a GraderError stops everything; workers die with their parent; and
there are never more workers than items."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.batch.workers import run_in_workers

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker tests fork")


def lost(item, reason):
    return ("lost", item, reason)


def square_unless(item):
    """item = (n, how, marker): 'die-once' kills its worker the first time (the marker file
    remembers), 'die' every time, 'hang' sleeps past any limit, 'fatal' raises GraderError."""
    n, how, marker = item
    if how == "die-once" and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "hang":
        time.sleep(60)
    if how == "fatal":
        raise GraderError("the disk is full")
    return n * n


def items(tmp_path, special):
    return [(n, special.get(n, ""), str(tmp_path / f"marker{n}")) for n in range(12)]


def test_results_come_back_in_order(tmp_path):
    assert run_in_workers(items(tmp_path, {}), square_unless, 3, lost, chunk=4) == \
        [n * n for n in range(12)]


def test_a_killed_worker_loses_nothing_and_its_item_is_tried_again(tmp_path):
    results = run_in_workers(items(tmp_path, {5: "die-once"}), square_unless, 2, lost, chunk=4)
    assert results == [n * n for n in range(12)]
    assert (tmp_path / "marker5").exists()  # it did die once


def test_an_item_that_kills_every_worker_is_marked_with_the_reason(tmp_path):
    results = run_in_workers(items(tmp_path, {3: "die", 8: "die-once"}), square_unless, 2, lost,
                             chunk=3)
    assert results[3] == ("lost", items(tmp_path, {3: "die"})[3],
                          "its grading process was killed (SIGKILL; the system may have run out "
                          "of memory)")
    assert [r for i, r in enumerate(results) if i != 3] == [n * n for n in range(12) if n != 3]


def test_a_stuck_worker_is_stopped_at_the_hard_limit(tmp_path):
    started = time.monotonic()
    results = run_in_workers(items(tmp_path, {2: "hang"}), square_unless, 2, lost,
                             hard_limit=1.0)
    assert time.monotonic() - started < 30
    assert results[2][0] == "lost" and results[2][2] == (
        "grading took longer than 1 s and could not be interrupted; its process was stopped")
    assert results[:2] + results[3:] == [n * n for n in range(12) if n != 2]


def test_a_grader_error_stops_everything(tmp_path):
    with pytest.raises(GraderError, match="the disk is full"):
        run_in_workers(items(tmp_path, {4: "fatal"}), square_unless, 2, lost)


def own_pid(item):
    time.sleep(0.05)
    return os.getpid()


def test_never_more_workers_than_items():
    pids = run_in_workers(range(3), own_pid, 1000, lost)
    assert len(set(pids)) <= 3 and os.getpid() not in pids


PARENT = """
import os, sys, time
from grader.batch.workers import run_in_workers

def slow(item):
    with open(os.path.join(sys.argv[1], f"{os.getpid()}.pid"), "w"):
        pass
    time.sleep(120)

run_in_workers(range(4), slow, 2, lambda item, reason: None)
"""


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie (not reaped in some containers) is dead


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_die_with_their_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(PARENT), str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(workers) == 2 and all(alive(pid) for pid in workers)
        parent.kill()  # kill -9, as an OOM killer or an impatient operator would
        parent.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers)
    finally:
        parent.kill()
