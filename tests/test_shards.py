"""Sharding and merging (grader/batch/shards.py): shards merged write what a single run writes,
byte for byte, flags across shards included; results read back from JSON (from_dict); and every
way a set of parts can be wrong is refused before anything is written."""
import dataclasses
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch.run import grade_batch
from grader.batch.shards import LINES_FILE, SHARD_FILE, Shard, merge_shards
from grader.cli import main
from grader.errors import GraderError
from grader.pipeline import grade_submission, load_context
from grader.results import BatchResult, SubmissionResult, to_json

from simulated import EXPECTED, INPUTS, ROOT, SPEC

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ROOT / "examples" / "submissions"
STAMP = "2017-10-01 12:00:00 UTC"
PATHS = dict(spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED)


@pytest.fixture(scope="module")
def simulated_class(tmp_path_factory):
    """The golden simulated class (a student per catalogued mistake; correct students, two of
    them sharing a mask), and one more student, last in id order, handing in the first's files:
    a copied mask whose students sit in the first and the last shard."""
    root = tmp_path_factory.mktemp("simulated")
    with zipfile.ZipFile(GOLDEN / "simulated_class.zip") as archive:
        archive.extractall(root)
    first = min(p for p in root.iterdir() if p.is_dir())
    shutil.copytree(first, root / "zz_copy")
    return root


def written(out):
    """Every file a batch wrote under ``out``, by relative path."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def shard_and_merge(root, tmp_path, count, jobs=1, order=None):
    parts = []
    for index in range(count):
        part = tmp_path / f"part{index}"
        grade_batch(root, out_dir=part, jobs=jobs, generated_at=STAMP, shard=Shard(index, count),
                    **PATHS)
        parts.append(part)
    merged = tmp_path / "merged"
    merge_shards([parts[i] for i in (order or range(count))], out_dir=merged, **PATHS)
    return merged, parts


# --------------------------------------------------------------------------- merged == single run

@pytest.mark.parametrize("count, jobs", [(4, 1), (3, 2), (1, 1)])
def test_merged_shards_write_a_single_runs_files_byte_for_byte(simulated_class, tmp_path, count,
                                                               jobs):
    single = tmp_path / "single"
    batch = grade_batch(simulated_class, out_dir=single, jobs=1, generated_at=STAMP, **PATHS)
    order = list(reversed(range(count)))  # the order parts are named in does not matter
    merged, parts = shard_and_merge(simulated_class, tmp_path, count, jobs, order)
    assert written(merged) == written(single)
    # The class's copied masks are flagged across shards: their students sit in different slices.
    ids = [s.id for s in batch.submissions]
    shard_of = {i: next(k for k in range(count) if i in Shard(k, count).slice(ids)) for i in ids}
    pairs = {(s.id, other) for s in batch.submissions for f in s.flags for other in f.with_}
    assert pairs and (count == 1 or any(shard_of[a] != shard_of[b] for a, b in pairs))


def test_more_shards_than_students_and_the_example_class(tmp_path):
    single = tmp_path / "single"
    grade_batch(EXAMPLES, out_dir=single, jobs=1, generated_at=STAMP, **PATHS)
    merged, parts = shard_and_merge(EXAMPLES, tmp_path, 12)
    assert written(merged) == written(single)
    assert sum(json.loads((p / SHARD_FILE).read_text())["submissions"] for p in parts) == 9
    assert (parts[0] / LINES_FILE).read_text() == ""  # 9 students in 12 slices: some are empty


def test_a_merge_is_deterministic_and_stamped_with_the_latest_shard(tmp_path):
    for index, stamp in enumerate(("2017-10-01 12:00:00 UTC", "2017-10-02 08:30:00 UTC")):
        grade_batch(EXAMPLES, out_dir=tmp_path / f"p{index}", jobs=1, generated_at=stamp,
                    shard=Shard(index, 2), **PATHS)
    first = merge_shards([tmp_path / "p0", tmp_path / "p1"], out_dir=tmp_path / "m1", **PATHS)
    merge_shards([tmp_path / "p1", tmp_path / "p0"], out_dir=tmp_path / "m2", **PATHS)
    assert first.generated_at == "2017-10-02 08:30:00 UTC"
    assert written(tmp_path / "m1") == written(tmp_path / "m2")


def test_shards_cut_the_class_into_contiguous_blocks_of_nearly_equal_size():
    for total in (0, 1, 5, 9, 54, 1000):
        items = list(range(total))
        for count in (1, 2, 3, 7, 12):
            slices = [Shard(index, count).slice(items) for index in range(count)]
            assert [x for s in slices for x in s] == items
            assert max(map(len, slices)) - min(map(len, slices)) <= 1
    assert Shard.parse(" 3/4 ") == Shard(3, 4) and str(Shard(0, 4)) == "0/4"
    for bad in ("4/4", "-1/4", "1", "a/b", "1/0", "1/2/3"):
        with pytest.raises(ValueError, match="I/N"):
            Shard.parse(bad)


# --------------------------------------------------------------------------- from_dict

@pytest.mark.parametrize("name", ["example_class", "simulated_class"])
def test_golden_results_read_back_from_json_write_the_same_json(name):
    data = json.loads((GOLDEN / name / "results.json").read_text())
    batch = BatchResult.from_dict(data)
    assert json.loads(to_json(batch.to_dict())) == data
    assert to_json(batch.to_dict(), indent=None) == (GOLDEN / name / "results.json").read_text()


def read_back_as_written(check):
    """A check as from_dict gives it back: the dropout verdict's own diagnosis is the check's
    (which that verdict decides), its kept_scale is not in the JSON."""
    if check.dropout is None:
        return check
    verdict = dataclasses.replace(check.dropout, kept_scale=None,
                                  diagnosis=None if check.status == "pass" else check.diagnosis_code)
    return dataclasses.replace(check, dropout=verdict)


@pytest.mark.parametrize("show_expected", [False, True])
def test_typed_results_survive_the_json_round_trip(simulated_class, show_expected):
    context = load_context(SPEC, INPUTS, EXPECTED, show_expected=show_expected)
    folders = sorted(p for p in simulated_class.iterdir() if p.is_dir())
    seen = set()
    for folder in folders:
        result = grade_submission(folder, context)
        back = SubmissionResult.from_dict(json.loads(to_json(result.to_dict())))
        result.checks = [read_back_as_written(c) for c in result.checks]
        assert back == result, folder.name
        seen |= {(c.status, c.diagnosis is not None, c.dropout is not None) for c in back.checks}
    # Passes, failures with and without a diagnosis, dropout verdicts, errors: all went through.
    assert {("pass", False, True), ("fail", True, True), ("fail", True, False),
            ("pass", False, False)} <= seen
    assert any(status in ("error", "missing") for status, _, _ in seen)


def test_a_quoted_file_name_holding_the_separator_stays_in_the_message():
    likely = ". Likely: "
    data = {"output": "conv_forward_out", "problem": "conv_forward", "status": "error",
            "score": 0.0, "max_score": 1.0, "diagnosis": "parse_error",
            "message": f"a{likely}b.csv: line 2: 'x' is not a number", "mismatches": None,
            "size": 54, "max_abs_err": None, "max_rel_err": None, "details": {}}
    from grader.results import CheckResult

    check = CheckResult.from_dict(data)
    assert check.message == data["message"] and check.diagnosis.message == ""
    assert check.diagnosis.explanation and check.to_dict() == data


# --------------------------------------------------------------------------- refusals

@pytest.fixture
def two_parts(tmp_path):
    for index in range(2):
        grade_batch(EXAMPLES, out_dir=tmp_path / f"p{index}", jobs=1, generated_at=STAMP,
                    shard=Shard(index, 2), **PATHS)
    return tmp_path / "p0", tmp_path / "p1"


def refused(parts, out, match, **paths):
    with pytest.raises(GraderError, match=match):
        merge_shards(parts, out_dir=out, **{**PATHS, **paths})
    assert not out.exists()  # nothing written


def test_incomplete_or_mixed_parts_are_refused(two_parts, tmp_path):
    p0, p1 = two_parts
    out = tmp_path / "out"
    refused([p0], out, r"shard 1/2 missing: a merge needs all 2")
    refused([p0, p1, p0], out, r"shard 0/2 is given twice")
    refused([], out, "no shards to merge")
    grade_batch(EXAMPLES, out_dir=tmp_path / "q", jobs=1, generated_at=STAMP, shard=Shard(0, 3),
                **PATHS)
    refused([p0, p1, tmp_path / "q"], out, r"is shard 0/3, .* is 0/2: shards of different splits")
    refused([tmp_path / "nothing", p1], out, "not a finished shard")


def test_parts_of_another_class_spec_or_expected_outputs_are_refused(two_parts, tmp_path):
    p0, p1 = two_parts
    out = tmp_path / "out"
    other = tmp_path / "class"
    shutil.copytree(EXAMPLES, other)
    shutil.rmtree(other / "e0000009i")
    grade_batch(other, out_dir=tmp_path / "o1", jobs=1, generated_at=STAMP, shard=Shard(1, 2),
                **PATHS)
    refused([p0, tmp_path / "o1"], out, r"graded another class .* \(8 submissions listed, not 9")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.read_text() + "\n# a copy with another comment\n")
    refused([p0, p1], out, "another spec than --spec", spec_path=spec)
    expected = tmp_path / "expected"
    shutil.copytree(EXPECTED, expected)
    manifest = json.loads((expected / "manifest.json").read_text())
    manifest["note"] = "recomputed"
    (expected / "manifest.json").write_text(json.dumps(manifest))
    refused([p0, p1], out, "other expected outputs", expected_dir=expected)


def test_altered_or_unfinished_shards_are_refused(two_parts, tmp_path):
    p0, p1 = two_parts
    out = tmp_path / "out"
    lines = (p1 / LINES_FILE).read_text().splitlines(keepends=True)
    (p1 / LINES_FILE).write_text("".join(lines[1:]))
    refused([p0, p1], out, r"results.jsonl holds 4 submissions where shard 1/2 of 9 has 5")
    (p1 / LINES_FILE).write_text("".join(lines))
    next((p1 / "feedback").glob("*.html")).unlink()
    refused([p0, p1], out, "without its feedback page")
    with pytest.raises(GraderError, match="is both a shard and --out"):
        merge_shards([p0, p1], out_dir=p0, **PATHS)
    # A shard graded again is unfinished until its new shard.json is written.
    (p0 / SHARD_FILE).write_text("{}")
    refused([p0, p1], out, "not a cnngrade shard")


# --------------------------------------------------------------------------- command line

def test_shard_and_merge_from_the_command_line(tmp_path):
    options = ["--spec", str(SPEC), "--inputs", str(INPUTS), "--expected", str(EXPECTED)]
    runner = CliRunner()
    for index in range(2):
        result = runner.invoke(main, ["batch", str(EXAMPLES), *options, "--jobs", "1",
                                      "--shard", f"{index}/2", "--out", str(tmp_path / f"p{index}")])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"graded shard {index}/2: {4 + index} submissions into ")
    result = runner.invoke(main, ["merge", str(tmp_path / "p0"), str(tmp_path / "p1"), *options,
                                  "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2] == ("graded 9 submissions: mean 92.2%, 4 with full "
                                              "marks, 0 that could not be read, 2 flagged")
    result = runner.invoke(main, ["merge", str(tmp_path / "p0"), *options,
                                  "--out", str(tmp_path / "m2")])
    assert result.exit_code == 1
    assert result.output == ("cnngrade: error: shard 1/2 missing: a merge needs all 2\n")
    result = runner.invoke(main, ["batch", str(EXAMPLES), *options, "--shard", "2/2"])
    assert result.exit_code == 2 and "a shard I/N needs 0 <= I < N, got 2/2" in result.output
