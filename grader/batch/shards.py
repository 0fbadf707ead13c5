"""Grading a class on many machines: one slice per machine (``cnngrade batch ROOT --shard I/N``),
then one merge (``cnngrade merge PARTS... --out DIR``) that writes what a single run writes.

Slices. The class's submissions, in id order (the order of a single run and of the gradebook),
are cut into N contiguous blocks whose sizes differ by at most one: of K submissions, shard I
(0 <= I < N) grades numbers I*K//N up to, not including, (I+1)*K//N. Every shard lists the whole
class, so each machine computes the same slices, and pages get the names a single run gives them
(a page's name depends on the whole class's ids).

A shard's folder (its ``--out``) holds ``feedback/``, the slice's pages as a single run writes
them; ``results.jsonl``, one line per submission of the slice, in id order: its results JSON
without flags (they need the whole class), with the fingerprints and dropout figures the flags
read; and ``shard.json``, written last (a folder without it is not a finished shard): the shard,
the class's ids, the sha256 of the spec and of expected/'s manifest it was graded against,
``generated_at`` and the entries of ROOT that were ignored.

The merge checks that its parts are shards 0..N-1, each once, of one class graded against the
merge's own spec and expected outputs; reads every submission back into typed results
(``SubmissionResult.from_dict``); finds the flags across the whole class; writes results.json,
gradebook.csv and report.html; and copies the pages. With the same ``generated_at`` that is a
single run's output byte for byte. By default the merge's ``generated_at`` is the latest shard's,
so that merging the same parts twice writes the same bytes; each page keeps its shard's.
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grader.atomic import atomic_text_writer, write_bytes_atomic, write_text_atomic
from grader.batch.flags import find_flags
from grader.batch.results_json import write_results_json
from grader.errors import GraderError
from grader.pipeline import load_context
from grader.report.gradebook import write_gradebook
from grader.report.names import FEEDBACK_DIR, feedback_names
from grader.report.render import write_class_report
from grader.results import BatchResult, SubmissionResult, to_json

SHARD_FILE = "shard.json"
LINES_FILE = "results.jsonl"
FORMAT = "cnngrade shard 1"


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` of ``count`` (0 <= index < count) of a class in id order."""

    index: int
    count: int

    def __post_init__(self):
        if not 0 <= self.index < self.count:
            raise ValueError(f"a shard I/N needs 0 <= I < N, got {self}")

    @classmethod
    def parse(cls, text):
        """The shard ``I/N`` (``0/4``: the first of four); ValueError if ``text`` is not one."""
        index, slash, count = str(text).strip().partition("/")
        if not (slash and index.strip().isdigit() and count.strip().isdigit()):
            raise ValueError(f"a shard is I/N with 0 <= I < N, e.g. 0/4, not {text!r}")
        return cls(int(index), int(count))

    def __str__(self):
        return f"{self.index}/{self.count}"

    def bounds(self, total):
        """(start, stop): the positions of this slice among ``total`` submissions."""
        return self.index * total // self.count, (self.index + 1) * total // self.count

    def slice(self, items):
        items = list(items)
        start, stop = self.bounds(len(items))
        return items[start:stop]


def shard_spool(out_dir):
    """The file a shard's workers' JSON lines go to: its results.jsonl, in place once complete.
    An earlier run's shard.json is removed first: until this run writes its own, the folder is
    not a finished shard."""
    (Path(out_dir) / SHARD_FILE).unlink(missing_ok=True)
    return atomic_text_writer(Path(out_dir) / LINES_FILE)


def write_shard_manifest(out_dir, shard, batch, context, class_ids):
    """Write ``out_dir/shard.json`` for ``shard`` of the class ``class_ids`` (every id, in order),
    graded in ``context`` into ``batch`` (the slice's results); the last file a shard writes."""
    write_text_atomic(Path(out_dir) / SHARD_FILE, to_json({
        "format": FORMAT, "shard": [shard.index, shard.count],
        "assignment": context.assignment.name, "spec_sha256": context.assignment.sha256,
        "expected_sha256": _manifest_sha256(context.expected.manifest),
        "generated_at": batch.generated_at, "ignored": list(batch.ignored),
        "renamed": list(batch.renamed),
        "submissions": len(batch.submissions), "ids": list(class_ids)}))


def _manifest_sha256(manifest):
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ShardPart:
    """A finished shard's folder, as its shard.json describes it."""

    folder: Path
    shard: Shard
    data: dict

    @property
    def ids(self):
        return self.data["ids"]

    @classmethod
    def read(cls, folder):
        folder = Path(folder)
        try:
            data = json.loads((folder / SHARD_FILE).read_text("utf-8"))
        except FileNotFoundError:
            raise GraderError(f"not a finished shard (no {SHARD_FILE}); grade it with "
                              "`cnngrade batch ROOT --shard I/N --out` this folder",
                              path=folder) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GraderError(f"unreadable {SHARD_FILE}: {e}", path=folder) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise GraderError(f"{SHARD_FILE} is not a cnngrade shard of this version "
                              f"({FORMAT!r})", path=folder)
        try:
            shard = Shard(*data["shard"])
        except (TypeError, ValueError, KeyError):
            raise GraderError(f"{SHARD_FILE} names no shard I/N", path=folder) from None
        return cls(folder, shard, data)


def merge_shards(parts, spec_path="assignment.toml", inputs_dir="input_files",
                 expected_dir="expected", out_dir="grades", generated_at=None):
    """Merge the shard folders ``parts`` into ``out_dir``: results.json, gradebook.csv,
    report.html and feedback/, as a single run of the whole class writes them. Returns the
    BatchResult. GraderError (nothing written) when the parts are not every shard of one class
    graded against this spec and these expected outputs."""
    context = load_context(spec_path, inputs_dir, expected_dir, require_expected=True)
    out_dir = Path(out_dir)
    shards = _checked_parts([ShardPart.read(part) for part in parts], context, out_dir)
    ids = shards[0].ids
    results = [result for part in shards for result in _read_results(part)]
    groups = find_flags(results, context.expected.manifest, context.assignment, context.inputs)
    generated_at = generated_at or max(part.data["generated_at"] for part in shards)
    batch = BatchResult(context.assignment.name, results, generated_at,
                        ignored=list(shards[0].data["ignored"]),
                        renamed=[note for part in shards for note in part.data["renamed"]],
                        flag_groups=groups)
    names = feedback_names(ids)
    _copy_pages(shards, names, out_dir / FEEDBACK_DIR)
    write_results_json(out_dir / "results.json", batch, _lines(shards))
    write_gradebook(out_dir / "gradebook.csv", batch, context.assignment)
    write_class_report(out_dir, batch, context.assignment, generated_at, names)
    return batch


def _checked_parts(parts, context, out_dir):
    """``parts`` in shard order, once checked to be shards 0..N-1 of one class graded as the
    merge would grade it."""
    if not parts:
        raise GraderError("no shards to merge")
    first = parts[0]
    by_index = {}
    for part in parts:
        where = part.folder
        if part.folder.resolve() == out_dir.resolve():
            raise GraderError("is both a shard and --out; merge into another folder", path=where)
        if part.shard.count != first.shard.count:
            raise GraderError(f"is shard {part.shard}, {first.folder} is {first.shard}: "
                              "shards of different splits", path=where)
        if part.shard.index in by_index:
            raise GraderError(f"shard {part.shard} is given twice: {by_index[part.shard.index].folder} "
                              f"and {where}")
        if part.ids != first.ids:
            raise GraderError(f"graded another class than {first.folder} ({len(part.ids)} "
                              f"submissions listed, not {len(first.ids)}; is a shard's --out "
                              "inside ROOT?)", path=where)
        if part.data.get("spec_sha256") != context.assignment.sha256:
            raise GraderError("was graded with another spec than --spec", path=where)
        if part.data.get("expected_sha256") != _manifest_sha256(context.expected.manifest):
            raise GraderError("was graded against other expected outputs than --expected",
                              path=where)
        by_index[part.shard.index] = part
    missing = [f"{i}/{first.shard.count}" for i in range(first.shard.count) if i not in by_index]
    if missing:
        raise GraderError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                          f"missing: a merge needs all {first.shard.count}")
    return [by_index[i] for i in range(first.shard.count)]


def _read_results(part):
    """The slice's submissions, typed, as a single run's main process holds them (no figures),
    checked against the ids the shard's slice must hold."""
    expected_ids = part.shard.slice(part.ids)
    results = []
    for line in _part_lines(part):
        result = SubmissionResult.from_dict(json.loads(line))
        result.checks = [check.without_figures() for check in result.checks]
        results.append(result)
    found_ids = [result.id for result in results]
    if found_ids != expected_ids:
        raise GraderError(f"{LINES_FILE} holds {len(found_ids)} submissions where shard "
                          f"{part.shard} of {len(part.ids)} has {len(expected_ids)}, or others: "
                          "an unfinished or altered shard", path=part.folder)
    return results


def _part_lines(part):
    try:
        with open(part.folder / LINES_FILE, encoding="utf-8") as lines:
            yield from lines
    except OSError as e:
        raise GraderError(f"cannot read {LINES_FILE}: {e.strerror}", path=part.folder) from None


def _lines(parts):
    for part in parts:
        yield from _part_lines(part)


def _copy_pages(parts, names, feedback_dir):
    """Every shard's pages into ``feedback_dir`` (each atomically), and no page of an earlier
    run for a student no longer in the class."""
    pages = [(part.folder / FEEDBACK_DIR / name, name)
             for part in parts for name in part.shard.slice(names)]
    absent = next((page for page, _ in pages if not page.is_file()), None)
    if absent is not None:  # found before anything is written
        raise GraderError(f"a shard without its feedback page {FEEDBACK_DIR}/{absent.name}",
                          path=absent.parent.parent)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    keep = set(names)
    for page in feedback_dir.glob("*.html"):
        if page.name not in keep:
            page.unlink()
    for page, name in pages:
        try:
            data = page.read_bytes()
        except OSError as e:
            raise GraderError(f"cannot read the feedback page {FEEDBACK_DIR}/{name}: "
                              f"{e.strerror}", path=page.parent.parent) from None
        write_bytes_atomic(feedback_dir / name, data)
