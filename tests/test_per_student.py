"""Per-student inputs: the secret and the roster, stable draws, grading each student against their
own inputs, redraws, the peer_outputs and wrong_inputs flags, and the secret kept out of every
file and line written."""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.assignment import ops
from grader.assignment.generate import make_inputs
from grader.assignment.per_student import (MIN_SECRET_BYTES, Secret, _file_rng, derive_seed,
                                           read_secret, roster_ids, seed_fingerprint, student_draw)
from grader.assignment.spec import load_spec
from grader.batch import peer_flags
from grader.batch.run import grade_batch
from grader.cli import main
from grader.diagnosis.audit import audit_inputs
from grader.diagnosis.draws import audit_roster, caught
from grader.errors import GraderError
from grader.intake.submissions import list_submissions
from grader.simulate import correct_outputs, texts
from grader.assignment.students import StudentContexts, not_on_roster

from simulated import SPEC, write_submission

# A fixed secret for the tests (hex text, as `secrets.token_hex(32)` writes one).
SECRET_TEXT = "5f1c0e6ab2d94f7d8c3e21a0b6f4c9d27e8a1b3c5d7f9e0a2c4b6d8f0e1a3c5b"
OTHER_SECRET_TEXT = "a91e3c5b7d9f1a2c4e6b8d0f2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c"
CORRECT = ["e001", "e002", "e003", "e004", "e005", "e006"]
COPIER, SOURCE = "e007", "e003"  # e007 hands in e003's files
SHARED_STUDENT = "e008"  # ran the shared input_files/
NOBODY_STUDENT = "e009"  # ran inputs made with another course's secret
FLIPPED_STUDENT = "e010"  # flipped the kernel on their own inputs
ROSTER = CORRECT + [COPIER, SHARED_STUDENT, NOBODY_STUDENT, FLIPPED_STUDENT, "e011"]  # e011: absent
STRANGER = "x999"  # hands in, but is not on the roster


def write_secret(path, text=SECRET_TEXT):
    path.write_text(text + "\n")
    return path


def write_roster(path, ids=ROSTER):
    path.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"
                    + "".join(f"Name {i},{1000 + i},{sid},{sid}@example.edu,A\n"
                              for i, sid in enumerate(ids)))
    return path


@pytest.fixture(scope="module")
def assignment():
    return load_spec(SPEC)


@pytest.fixture(scope="module")
def secret():
    return Secret(SECRET_TEXT.encode())


# --------------------------------------------------------------------------------------------------
# The secret and the roster
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, says", [
    (None, "no secret file"),
    (b"0123456789abcdef0123456789abcde\n", f"31 bytes long; at least {MIN_SECRET_BYTES}"),
    (b"passwordpasswordpasswordpassword", "too regular"),
    (b"a" * 64, "too regular"),
    (b"abababababababababababababababababab", "too regular"),
    (b"0000111100001111000011110000111101", "too regular"),
])
def test_a_missing_short_or_regular_secret_is_refused_without_showing_it(tmp_path, content, says):
    path = tmp_path / "secret.key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GraderError) as info:
        read_secret(path)
    message = str(info.value)
    assert says in message and str(path) in message
    if content is not None:
        assert content.strip().decode() not in message


def test_a_random_secret_is_accepted_and_hidden_from_repr(tmp_path):
    raw = bytes(range(7, 7 + 40))  # 40 distinct bytes
    (tmp_path / "raw.key").write_bytes(raw)
    assert repr(read_secret(tmp_path / "raw.key")) == "Secret(<hidden>)"
    hex_secret = read_secret(write_secret(tmp_path / "hex.key"))
    assert SECRET_TEXT not in repr(hex_secret) + str(hex_secret)
    # The line end an editor adds is not part of the key.
    (tmp_path / "crlf.key").write_bytes(SECRET_TEXT.encode() + b"\r\n")
    assert (derive_seed(read_secret(tmp_path / "crlf.key"), "a", "b")
            == derive_seed(hex_secret, "a", "b"))


def test_roster_ids_from_a_canvas_export_prefer_the_sis_user_id(tmp_path):
    assert roster_ids(write_roster(tmp_path / "canvas.csv")) == ROSTER
    plain = tmp_path / "plain.csv"
    plain.write_text("name,ID,email\nAnn, e01 ,ann@x\nBen,E02,ben@x\n")
    assert roster_ids(plain) == ["e01", "E02"]


@pytest.mark.parametrize("text, says, line", [
    ("name,email\nAnn,a@x\n", "no id column in the roster", None),
    ("id\ne01\nE01\n", "'E01' is already on line 2", 3),
    ("id\ne01\n../e02\n", "cannot name a folder", 3),
    ("id\n\n", "holds no id", None),
])
def test_a_bad_roster_is_refused_naming_the_line(tmp_path, text, says, line):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(GraderError) as info:
        roster_ids(path)
    assert says in str(info.value) and info.value.line == line


# --------------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------------

def test_two_students_inputs_differ_and_keep_the_specs_shapes(assignment, secret):
    a, b = student_draw(assignment, secret, "e001"), student_draw(assignment, secret, "e002")
    assert a.fingerprint != b.fingerprint
    shared = make_inputs(assignment)
    for spec in assignment.inputs:
        assert a.inputs[spec.file].shape == b.inputs[spec.file].shape == spec.shape
        assert not np.allclose(a.inputs[spec.file], b.inputs[spec.file])
        assert not np.allclose(a.inputs[spec.file], shared[spec.file])
    # linspace(-0.1, 0.5) is the same for every seed: per student it is drawn from its range.
    x = a.inputs["conv_forward_in_x"]
    assert x.min() >= -0.1 and x.max() <= 0.5 and not np.all(np.diff(x.ravel()) > 0)
    # Dropout inputs keep their recipe, N(10, 1): never zero.
    assert abs(a.inputs["dropout_forward_in_x"].mean() - 10) < 0.5


# Pinned: the same secret and id give these inputs on any machine and any run (HMAC-SHA256 and
# NumPy's SeedSequence and PCG64 are platform-independent). A failure here means the derivation
# or NumPy's streams changed: students' hand-outs would no longer match their grading.
PINNED_FINGERPRINT = "559d833509138cc6"
PINNED_VALUES = {
    "conv_forward_in_x": [-0.02295437640676755, 0.1261188246735806, 0.3498296764072233],
    "conv_backward_in_x": [-0.37350356968628035, 0.12775525024304707, -0.4039074046978994],
    "dropout_forward_in_x": [9.11412101156666, 9.129128039326936, 9.50845924302455],
}


def test_a_students_inputs_are_stable_across_runs_and_processes(assignment, secret):
    drawn = student_draw(assignment, secret, "e001")
    assert drawn.fingerprint == PINNED_FINGERPRINT
    for file, values in PINNED_VALUES.items():
        assert drawn.inputs[file].ravel()[:3].tolist() == values
    # Another interpreter with another hash seed (Python's salted hash() plays no part).
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "from grader.assignment.per_student import Secret, student_draw;"
            "from grader.assignment.spec import load_spec;"
            "d = student_draw(load_spec(sys.argv[2]), Secret(sys.argv[3].encode()), 'e001');"
            "print(d.fingerprint, float(d.inputs['conv_backward_in_x'].ravel()[0]).hex())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parents[1]), str(SPEC),
                          SECRET_TEXT], capture_output=True, text=True, check=True, env=env)
    fingerprint, first = out.stdout.split()
    assert fingerprint == drawn.fingerprint
    assert float.fromhex(first) == drawn.inputs["conv_backward_in_x"].ravel()[0]


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**200 + 7, 2**256 - 1])
def test_each_input_file_draws_from_default_rng_of_the_seed_and_its_name_key(seed):
    name_key = int.from_bytes(hashlib.sha256(b"conv_forward_in_x").digest()[:8], "little")
    expected = np.random.default_rng([seed, name_key]).normal(size=5)
    assert np.array_equal(_file_rng(seed, "conv_forward_in_x").normal(size=5), expected)


def test_the_fingerprint_is_a_hash_of_the_seed_not_the_seed(assignment, secret):
    seed = derive_seed(secret, assignment.name, "e001")
    digest = hmac.new(SECRET_TEXT.encode(), f"{assignment.name}\0e001".encode(), hashlib.sha256)
    assert seed == int(digest.hexdigest(), 16)
    assert student_draw(assignment, secret, "e001").fingerprint == seed_fingerprint(seed)
    assert seed_fingerprint(seed) not in f"{seed:064x}"
    assert derive_seed(secret, assignment.name, "e001", draw=1) != seed
    assert derive_seed(Secret(OTHER_SECRET_TEXT.encode()), assignment.name, "e001") != seed


TINY_SPEC = """
[assignment]
name = "tiny"
seed = 1
pad_convention = "per_side"
dropout_p_means = "drop"

[problems.maxpool_forward]
op = "maxpool_forward"
pool_height = 2
pool_width = 2
stride = 2
inputs.x = { file = "maxpool_forward_in_x", shape = [1, 1, 2, 2], values = "normal(0, 1)" }
outputs.out = { file = "maxpool_forward_out", points = 1 }
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A spec so small that some draws cannot catch a mistake the shared inputs catch (a single
    2x2 window: 'take the last element' passes when the maximum is last)."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.toml"
    path.write_text(TINY_SPEC)
    return path


def test_a_draw_that_misses_a_mistake_the_shared_inputs_catch_is_redrawn(tiny, secret):
    assignment = load_spec(tiny)
    ids = [f"s{i}" for i in range(12)]
    required, choices = audit_roster(assignment, secret, ids)
    assert ("maxpool_forward_out", "last_element") in required
    redrawn = [c for c in choices if c.refused]
    assert redrawn, "the tiny spec should need redraws"
    for choice in choices:
        drawn = choice.chosen
        assert required <= caught(audit_inputs(assignment, drawn.inputs))
        assert drawn.draw == len(choice.refused)
        for k, missed in enumerate(choice.refused):
            refused = student_draw(assignment, secret, drawn.student_id, k)
            assert missed == required - caught(audit_inputs(assignment, refused.inputs))
    # Deterministic: the same draws again.
    _, again = audit_roster(assignment, secret, ids)
    assert [c.chosen.fingerprint for c in again] == [c.chosen.fingerprint for c in choices]


def test_a_redrawn_student_is_graded_against_the_draw_they_were_handed(tiny, secret, tmp_path):
    assignment = load_spec(tiny)
    contexts = StudentContexts(assignment, secret, [f"s{i}" for i in range(12)])
    choice = next(contexts.choice(f"s{i}") for i in range(12) if contexts.choice(f"s{i}").refused)
    student = choice.chosen.student_id
    folder = write_submission(tmp_path / student, texts(assignment, correct_outputs(
        assignment, choice.chosen.inputs, seed=1)))
    source = next(s for s in list_submissions(tmp_path) if s.id == student)
    result = StudentContexts(assignment, secret, contexts.roster).grade(source)
    assert result.full_marks, [c.message for c in result.checks]
    assert result.inputs_fingerprint == choice.chosen.fingerprint != \
        student_draw(assignment, secret, student).fingerprint
    assert folder.is_dir()


def count_audits(monkeypatch):
    """The ids StudentContexts audits from now on (the list fills as it does)."""
    audited = []
    real_choice = StudentContexts.choice
    monkeypatch.setattr(StudentContexts, "choice",
                        lambda self, sid: audited.append(sid) or real_choice(self, sid))
    return audited


def test_the_draw_is_read_from_the_files_and_the_audit_decides_only_when_none_fits(
        tiny, secret, tmp_path, monkeypatch):
    """A student handed draw 1 is graded against it from their files alone (no audit); a
    submission none of whose files fits draw 0 or 1 gets the draw the audit hands out."""
    assignment = load_spec(tiny)
    roster = [f"s{i}" for i in range(12)]
    chosen = StudentContexts(assignment, secret, roster)
    redrawn = next(chosen.choice(sid).chosen for sid in roster
                   if chosen.choice(sid).chosen.draw == 1)
    write_submission(tmp_path / redrawn.student_id, texts(assignment, correct_outputs(
        assignment, redrawn.inputs, seed=1)))
    wrong = next(sid for sid in roster if sid != redrawn.student_id)
    files = texts(assignment, correct_outputs(assignment, make_inputs(assignment), seed=2))
    write_submission(tmp_path / wrong, files)  # the shared inputs' outputs: fit none of their draws
    sources = {s.id: s for s in list_submissions(tmp_path)}
    audited = count_audits(monkeypatch)
    contexts = StudentContexts(assignment, secret, roster)
    result = contexts.grade(sources[redrawn.student_id])
    assert result.full_marks and result.inputs_fingerprint == redrawn.fingerprint
    assert audited == []
    result = contexts.grade(sources[wrong])
    assert audited == [wrong]
    assert result.inputs_fingerprint == chosen.choice(wrong).chosen.fingerprint
    assert not result.full_marks


def test_a_submission_nothing_of_which_is_judged_against_inputs_is_not_audited(
        tiny, secret, tmp_path, monkeypatch):
    """No file read as numbers: every draw grades it alike, so draw 0 without an audit; a file of
    the wrong size is diagnosed on the inputs, so the audit decides."""
    assignment = load_spec(tiny)
    roster = [f"s{i}" for i in range(12)]
    chosen = StudentContexts(assignment, secret, roster)
    redrawn = [sid for sid in roster if chosen.choice(sid).chosen.draw > 0]
    empty, short = redrawn[0], next(sid for sid in roster if sid != redrawn[0])
    write_submission(tmp_path / empty, {"readme.txt": "done\n", "maxpool_forward_out.csv": ""})
    write_submission(tmp_path / short, {"maxpool_forward_out.csv": "1.0,2.0\n"})
    sources = {s.id: s for s in list_submissions(tmp_path)}
    audited = count_audits(monkeypatch)
    contexts = StudentContexts(assignment, secret, roster)
    result = contexts.grade(sources[empty])
    assert audited == [] and result.score == 0
    assert result.inputs_fingerprint == student_draw(assignment, secret, empty).fingerprint
    result = contexts.grade(sources[short])
    assert audited == [short] and result.checks[0].message.startswith("wrong size")


# --------------------------------------------------------------------------------------------------
# A per-student class
# --------------------------------------------------------------------------------------------------

def _own_outputs(assignment, inputs, seed):
    return texts(assignment, correct_outputs(assignment, inputs, seed=seed))


def handed_out(assignment, secret, student_id):
    """The inputs a student was handed (their first draw, unless it was redrawn)."""
    return StudentContexts(assignment, secret, [student_id]).choice(student_id).chosen.inputs


def make_class(root, assignment, secret):
    for i, sid in enumerate(CORRECT, start=1):
        write_submission(root / sid / "output_files",
                         _own_outputs(assignment, handed_out(assignment, secret, sid), i))
    shutil.copytree(root / SOURCE, root / COPIER)
    write_submission(root / SHARED_STUDENT, _own_outputs(assignment, make_inputs(assignment), 40))
    other = Secret(OTHER_SECRET_TEXT.encode())
    write_submission(root / NOBODY_STUDENT,
                     _own_outputs(assignment, student_draw(assignment, other, NOBODY_STUDENT).inputs,
                                  41))
    inputs = handed_out(assignment, secret, FLIPPED_STUDENT)  # redrawn: draw 0 is too weak
    files = _own_outputs(assignment, inputs, 42)
    problem = assignment.problem("conv_forward")
    arrays = {spec.role: inputs[spec.file] for spec in problem.inputs}
    arrays["w"] = arrays["w"][:, :, ::-1, ::-1]
    files.update(texts(assignment, {"conv_forward_out": ops.run(problem, arrays)["out"]}))
    write_submission(root / FLIPPED_STUDENT, files)
    shutil.copytree(root / "e001", root / STRANGER)
    return root


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, assignment, secret):
    tmp = tmp_path_factory.mktemp("per_student")
    root = make_class(tmp / "class", assignment, secret)
    roster = write_roster(tmp / "roster.csv")
    key = write_secret(tmp / "secret.key")
    batch = grade_batch(root, spec_path=SPEC, out_dir=tmp / "grades", jobs=2, roster=roster,
                        secret=key, generated_at="2026-01-01 00:00:00 UTC")
    return batch, tmp


def _flags(batch, code):
    return {s.id: sorted(i for f in s.flags if f.code == code for i in f.with_)
            for s in batch.submissions if any(f.code == code for f in s.flags)}


def test_correct_students_in_a_per_student_class_all_get_full_marks(graded_class, assignment,
                                                                     secret):
    batch, _ = graded_class
    by_id = {s.id: s for s in batch.submissions}
    for sid in CORRECT:
        assert by_id[sid].full_marks and by_id[sid].score == assignment.max_score, sid
        assert by_id[sid].inputs_fingerprint == student_draw(assignment, secret, sid).fingerprint
    # The redrawn student was graded against the draw they were handed.
    contexts = StudentContexts(assignment, secret, ROSTER)
    assert contexts.choice(FLIPPED_STUDENT).chosen.draw == 1
    assert by_id[FLIPPED_STUDENT].inputs_fingerprint == \
        contexts.choice(FLIPPED_STUDENT).chosen.fingerprint
    # Graded against their own inputs: the copier and the shared-inputs student fail everything
    # deterministic, and so does the student who used other inputs.
    for sid in (COPIER, SHARED_STUDENT, NOBODY_STUDENT):
        assert by_id[sid].score == 0, sid


def test_a_copied_class_raises_peer_outputs_on_exactly_that_pair(graded_class):
    batch, _ = graded_class
    assert _flags(batch, "peer_outputs") == {COPIER: [SOURCE], SOURCE: [COPIER]}
    copier = next(s for s in batch.submissions if s.id == COPIER)
    message = next(f.message for f in copier.flags if f.code == "peer_outputs")
    assert f"the expected outputs of {SOURCE}'s inputs" in message and "1 in 10^" in message


def test_outputs_from_the_shared_or_nobodys_inputs_raise_wrong_inputs(graded_class):
    batch, _ = graded_class
    assert sorted(_flags(batch, "wrong_inputs")) == sorted([NOBODY_STUDENT, SHARED_STUDENT])
    by_id = {s.id: s for s in batch.submissions}
    assert "shared inputs (input_files/)" in by_id[SHARED_STUDENT].flags[0].message
    assert "fits any roster student's" in by_id[NOBODY_STUDENT].flags[0].message


def test_diagnosis_runs_on_the_students_own_inputs(graded_class):
    batch, _ = graded_class
    student = next(s for s in batch.submissions if s.id == FLIPPED_STUDENT)
    checks = {c.output: c for c in student.checks}
    assert checks["conv_forward_out"].diagnosis_code == "flipped_kernel"
    assert [c.output for c in student.checks if c.status != "pass"] == ["conv_forward_out"]
    assert not student.flags


def test_a_submission_not_on_the_roster_is_not_graded_and_is_listed(graded_class):
    batch, tmp = graded_class
    stranger = next(s for s in batch.submissions if s.id == STRANGER)
    assert stranger.score == 0 and stranger.inputs_fingerprint is None
    assert stranger.error.startswith(f"'{STRANGER}' is not on the roster roster.csv: not graded")
    assert not_on_roster(batch, tmp / "roster.csv") == [STRANGER]


def test_results_record_the_fingerprint_and_are_the_same_whatever_the_jobs(graded_class, tmp_path):
    batch, tmp = graded_class
    data = json.loads((tmp / "grades" / "results.json").read_text())
    recorded = {s["id"]: s.get("inputs_fingerprint") for s in data["submissions"]}
    assert recorded == {s.id: s.inputs_fingerprint for s in batch.submissions}
    grade_batch(tmp / "class", spec_path=SPEC, out_dir=tmp_path / "one", jobs=1,
                roster=tmp / "roster.csv", secret=tmp / "secret.key",
                generated_at="2026-01-01 00:00:00 UTC")
    for name in ("results.json", "gradebook.csv", "report.html"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp / "grades" / name).read_bytes()


def test_a_copy_of_a_redrawn_classmates_files_is_flagged_byte_for_byte(tmp_path, assignment,
                                                                        secret):
    """The peer index holds first draws only; the redrawn student's files are still matched."""
    root = tmp_path / "class"
    write_submission(root / FLIPPED_STUDENT, _own_outputs(
        assignment, handed_out(assignment, secret, FLIPPED_STUDENT), 5))
    shutil.copytree(root / FLIPPED_STUDENT, root / "e004")
    batch = grade_batch(root, spec_path=SPEC, out_dir=tmp_path / "grades", jobs=1,
                        roster=write_roster(tmp_path / "roster.csv"),
                        secret=write_secret(tmp_path / "secret.key"))
    assert _flags(batch, "peer_outputs") == {"e004": [FLIPPED_STUDENT], FLIPPED_STUDENT: ["e004"]}
    copier = next(s for s in batch.submissions if s.id == "e004")
    assert all("byte-identical to" in f.message for f in copier.flags if f.code == "peer_outputs")


def test_the_peer_index_is_the_same_built_by_several_processes(assignment, secret):
    roster = [f"p{i:03d}" for i in range(150)]  # several tasks of 64 rows
    serial = peer_flags.first_draws_expected(assignment, secret, roster, jobs=1)
    parallel = peer_flags.first_draws_expected(assignment, secret, roster, jobs=2)
    assert len(parallel) == len(roster)
    for one, other in zip(serial, parallel):
        assert all(np.array_equal(one[file], other[file]) for file in one)


def test_the_peer_search_compares_candidates_only(tmp_path, assignment, secret, monkeypatch):
    """A class must not cost S x R full comparisons: each failing output looked up is compared in
    full only with the few expected outputs its projection lands next to (here: the one it
    matches, or none), not with all 51 + 1 rows of the index."""
    root = make_class(tmp_path / "class", assignment, secret)
    extra = [f"f{i:02d}" for i in range(40)]  # more roster students make S x R larger
    contexts = StudentContexts(assignment, secret, ROSTER + extra)
    compared, looked_up = [], []
    real_within, real_lookup = peer_flags.within, peer_flags.PeerIndex.lookup
    monkeypatch.setattr(peer_flags, "within",
                        lambda *args, **kw: compared.append(1) or real_within(*args, **kw))
    monkeypatch.setattr(peer_flags.PeerIndex, "lookup",
                        lambda self, values: looked_up.extend(values) or real_lookup(self, values))
    for source in list_submissions(root):
        if source.id != STRANGER:
            contexts.grade(source)
    assert len(contexts.peer_index.labels) == len(ROSTER + extra) + 1
    assert len(looked_up) >= 3 * 8  # copier, shared and nobody students: every deterministic output
    assert len(compared) <= len(looked_up)


def test_the_secret_appears_in_no_file_written(graded_class):
    _, tmp = graded_class
    written = [p for p in (tmp / "grades").rglob("*") if p.is_file()]
    assert len(written) >= 3 + len(ROSTER)
    for path in written:
        data = path.read_bytes()
        assert SECRET_TEXT.encode() not in data and SECRET_TEXT[:16].encode() not in data, path


# --------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_check_with_another_students_id_fails_and_says_whose_inputs_they_are(graded_class,
                                                                             tmp_path):
    _, tmp = graded_class
    common = ["--spec", SPEC, "--roster", tmp / "roster.csv", "--secret", tmp / "secret.key"]
    out, page = tmp_path / "result.json", tmp_path / "feedback.html"
    result = run("check", tmp / "class" / SOURCE, *common, "--student", "e004", "--json", out,
                 "--html", page, "--strict")
    assert result.exit_code == 3
    assert "score: 0 / 10 (0%)" in result.output
    assert (f"match, within tolerance at all 1654 values, the expected outputs of {SOURCE}'s "
            "inputs, not those of this student's own") in result.output
    assert "graded against the inputs of e004 (seed fingerprint " in result.output
    data = json.loads(out.read_text())
    assert data["id"] == "e004" and len(data["inputs_fingerprint"]) == 16
    for text in (result.output, result.stderr, out.read_text(), page.read_text()):
        assert SECRET_TEXT not in text and SECRET_TEXT[:16] not in text
    assert SOURCE not in page.read_text()  # the student's page names no classmate
    own = run("check", tmp / "class" / SOURCE, *common, "--strict")
    assert own.exit_code == 0 and "score: 10 / 10 (100%)" in own.output
    assert "flag" not in own.output


def test_check_per_student_usage_and_roster_errors(graded_class, tmp_path):
    _, tmp = graded_class
    submission = tmp / "class" / "e001"
    result = run("check", submission, "--spec", SPEC, "--roster", tmp / "roster.csv")
    assert result.exit_code == 2 and "--roster here needs --secret" in result.stderr
    result = run("check", submission, "--spec", SPEC, "--student", "e001")
    assert result.exit_code == 2 and "--student needs --roster and --secret" in result.stderr
    common = ["--spec", SPEC, "--roster", tmp / "roster.csv", "--secret", tmp / "secret.key"]
    result = run("check", tmp / "class" / STRANGER, *common)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"cnngrade: error: '{STRANGER}' is not on the roster roster.csv")
    result = run("check", submission, "--spec", SPEC, "--roster", tmp / "roster.csv",
                 "--secret", tmp_path / "none.key")
    assert result.exit_code == 1 and "none.key: no secret file" in result.stderr
    assert "Traceback" not in result.stderr + result.output


def test_inputs_and_template_per_student(tmp_path, assignment, secret):
    roster = write_roster(tmp_path / "roster.csv", ["e001", "e002"])
    key = write_secret(tmp_path / "secret.key")
    common = ["--spec", SPEC, "--roster", roster, "--secret", key]
    assert run("inputs", *common).exit_code == 2  # --out is required: one folder per student
    result = run("inputs", *common, "--out", tmp_path / "inputs")
    assert result.exit_code == 0 and result.output == f"wrote the inputs of 2 students to {tmp_path / 'inputs'}/<id>/\n"
    for sid in ("e001", "e002"):
        drawn = student_draw(assignment, secret, sid)
        for spec in assignment.inputs:
            values = np.loadtxt(tmp_path / "inputs" / sid / spec.filename)
            assert np.array_equal(values.reshape(spec.shape), drawn.inputs[spec.file])
    result = run("template", *common, "--out", tmp_path / "handouts")
    assert result.exit_code == 0, result.output
    for sid in ("e001", "e002"):
        for spec in assignment.inputs:
            assert ((tmp_path / "handouts" / sid / "input_files" / spec.filename).read_bytes()
                    == (tmp_path / "inputs" / sid / spec.filename).read_bytes())
    result = run("inputs", *common, "--audit")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == ("2 students: every student's inputs catch the 89 "
                                              "mistakes the shared inputs catch; 0 redrawn to get "
                                              "there")
    for path in list((tmp_path / "inputs").rglob("*")) + list((tmp_path / "handouts").rglob("*")):
        if path.is_file():
            assert SECRET_TEXT.encode() not in path.read_bytes(), path


def test_batch_per_student_lists_submissions_not_on_the_roster(graded_class, tmp_path):
    _, tmp = graded_class
    result = run("batch", tmp / "class", "--spec", SPEC, "--roster", tmp / "roster.csv",
                 "--secret", tmp / "secret.key", "--out", tmp_path / "grades", "--jobs", "1")
    assert result.exit_code == 0, result.output
    # With --roster the class list is the course's: the stranger is listed, and never graded.
    assert (f"not graded, matches no student: {STRANGER} (no roster student has the id "
            f"'{STRANGER}')") in result.output.splitlines()
    assert SECRET_TEXT not in result.output + result.stderr
