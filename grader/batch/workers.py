"""Worker processes that lose nothing when one of them dies.

``run_in_workers`` computes ``work(item)`` for every item in ``jobs`` processes and returns the
results in the items' order. Unlike a ProcessPoolExecutor, whose pool breaks as a whole when one
worker is killed (the OOM killer, a signal, a crash in C), the parent here knows which item each
worker holds: each worker gets a chunk of items at a time and reports each result as it is done,
so the item in progress is the first of its chunk not yet reported.

- A worker that dies loses only that item: the rest of its chunk goes to the other workers, a
  fresh worker takes its place, and the item is tried once more, alone. If it kills its worker
  again, ``lost(item, reason)`` gives its result.
- A worker that spends more than ``hard_limit`` seconds on one item (stuck where the item's own
  time limit cannot interrupt it) is killed, and ``lost(item, reason)`` gives the item's result
  at once: it would take as long again.
- A GraderError in ``work`` (the grader cannot go on: a full disk) stops every worker and is
  raised here; so is any other exception, as a GraderError naming it.
- Workers die with their parent: on Linux the kernel kills them when it dies
  (PR_SET_PDEATHSIG); elsewhere each checks every second that its parent is alive.
"""
import ctypes
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections import deque
from multiprocessing.connection import wait

from grader.errors import GraderError

ATTEMPTS = 2  # times an item may be the one in progress when its worker dies
_PR_SET_PDEATHSIG = 1


def run_in_workers(items, work, jobs, lost, initializer=None, initargs=(), hard_limit=None,
                   chunk=1, on_result=None):
    """``[work(item) for item in items]``, computed in at most ``jobs`` worker processes.

    ``initializer(*initargs)`` runs once in each worker before any item. ``lost(item, reason)``
    (in this process) gives the result of an item whose worker died twice or was stopped after
    ``hard_limit`` seconds. ``on_result()`` is called once per item done. ``work``,
    ``initializer`` and their arguments must be picklable.
    """
    pool = _Pool(list(items), work, lost, (initializer, initargs), hard_limit, on_result)
    jobs = max(1, min(jobs, len(pool.items)))
    pool.queue.extend([i] for i in range(len(pool.items)))
    pool.chunk = max(1, chunk)
    try:
        while pool.remaining:
            while len(pool.workers) < min(jobs, pool.remaining):
                pool.start_worker()
            for worker in list(pool.workers):
                if not worker.held:
                    pool.give_work(worker)
            pool.wait_and_collect()
    except BaseException:
        pool.stop(kill=True)
        raise
    pool.stop(kill=False)
    return pool.results


class _Worker:
    def __init__(self, process, conn):
        self.process, self.conn = process, conn
        self.held = deque()  # indexes given and not yet reported, the first in progress
        self.since = time.monotonic()  # when the item in progress was started
        self.stopped_for = None  # why the parent killed it, if it did


class _Pool:
    def __init__(self, items, work, lost, init, hard_limit, on_result):
        self.items, self.work, self.lost, self.init = items, work, lost, init
        self.hard_limit, self.on_result = hard_limit, on_result
        self.results = [None] * len(items)
        self.remaining = len(items)
        self.queue = deque()  # lists of indexes to give out, retries first
        self.deaths = {}  # index -> times its worker died while it was in progress
        self.workers = []
        self.chunk = 1
        self.context = multiprocessing.get_context()

    def start_worker(self):
        parent_conn, child_conn = self.context.Pipe()
        # A forked worker's parent is this process; the race where it dies first is checked.
        parent = os.getpid() if self.context.get_start_method() == "fork" else None
        process = self.context.Process(target=_worker_main, daemon=True,
                                       args=(child_conn, self.work, *self.init, parent))
        process.start()
        child_conn.close()
        self.workers.append(_Worker(process, parent_conn))

    def give_work(self, worker):
        if not self.queue:
            return
        indexes = self.queue.popleft()
        while indexes[0] not in self.deaths and len(indexes) < self.chunk and self.queue \
                and self.queue[0][0] not in self.deaths:
            indexes.extend(self.queue.popleft())  # fresh items travel in chunks, retries alone
        worker.conn.send([(i, self.items[i]) for i in indexes])
        worker.held.extend(indexes)
        worker.since = time.monotonic()

    def wait_and_collect(self):
        waiting = {}
        for worker in self.workers:
            waiting[worker.conn] = waiting[worker.process.sentinel] = worker
        timeout = None
        if self.hard_limit:
            now = time.monotonic()
            busy = [w.since + self.hard_limit - now for w in self.workers if w.held]
            timeout = max(0.0, min(busy)) if busy else None
        ready = wait(list(waiting), timeout)
        for worker in dict.fromkeys(waiting[r] for r in ready):
            self.collect(worker)
        if self.hard_limit:
            self.stop_overdue()

    def collect(self, worker):
        """Read what ``worker`` reported; if it has died, recover what it held."""
        try:
            while worker.conn.poll():
                self.receive(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            self.recover(worker)

    def receive(self, worker, message):
        kind, index, payload = message
        if kind == "fatal":
            raise GraderError(payload)
        worker.held.remove(index)
        worker.since = time.monotonic()
        self.done(index, payload)

    def done(self, index, result):
        self.results[index] = result
        self.remaining -= 1
        if self.on_result:
            self.on_result()

    def recover(self, worker):
        worker.process.join()
        worker.conn.close()
        self.workers.remove(worker)
        if not worker.held:
            return
        index = worker.held.popleft()
        self.queue.extendleft([i] for i in reversed(worker.held))  # never started
        reason = worker.stopped_for or _death(worker.process.exitcode)
        self.deaths[index] = self.deaths.get(index, 0) + 1
        if worker.stopped_for or self.deaths[index] >= ATTEMPTS:
            self.done(index, self.lost(self.items[index], reason))
        else:
            self.queue.appendleft([index])  # once more, alone, in a fresh worker

    def stop_overdue(self):
        now = time.monotonic()
        for worker in self.workers:
            if worker.held and now - worker.since > self.hard_limit and not worker.stopped_for:
                worker.stopped_for = (f"grading took longer than {self.hard_limit:g} s and could "
                                      "not be interrupted; its process was stopped")
                worker.process.kill()

    def stop(self, kill):
        for worker in self.workers:
            if kill:
                worker.process.kill()
            else:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        for worker in self.workers:
            worker.process.join()
            worker.conn.close()
        self.workers = []


def _death(exitcode):
    """Why a worker that exited with ``exitcode`` died, for a person."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            return (f"its grading process was killed ({name}; the system may have run out of "
                    "memory)")
        return f"its grading process was killed ({name})"
    return f"its grading process ended unexpectedly (exit code {exitcode})"


def _worker_main(conn, work, initializer, initargs, parent):
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for index, item in chunk:
            try:
                conn.send(("done", index, work(item)))
            except GraderError as e:
                conn.send(("fatal", index, str(e)))
                return
            except Exception as e:  # a bug: the parent stops everything and says so
                conn.send(("fatal", index, f"internal error in a grading process "
                                           f"({type(e).__name__}: {e}); please report it\n"
                                           f"{traceback.format_exc()}"))
                return


def _die_with_parent(parent):
    """Make this process end when the process that started it does. ``parent``: its pid, if
    known (a forked worker), to catch a parent that died before the request took effect."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        asked = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0  # Linux
    except (OSError, AttributeError):
        asked = False
    if parent is not None and os.getppid() != parent:
        os._exit(1)
    if asked:
        return
    parent = os.getppid()

    def watch():  # elsewhere: orphaned workers are re-parented, which this notices
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
