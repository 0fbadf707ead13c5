"""Shared masks are grouped: each member's flag names its group and the group's size, the group
is listed once with all its members, and results.json grows linearly with the group (every
member listing every other made it 349 MB at 3,200 students)."""
import json

from grader.batch.flags import MAX_WITH

from grader.simulate import correct_outputs, texts
from simulated import write_submission
from test_batch import inputs, load_assignment, run_batch


def shared_mask_class(root, count):
    """``count`` students with one shared dropout mask (a skeleton that seeds the RNG), and two
    more with a mask of their own."""
    a = load_assignment()
    shared = texts(a, correct_outputs(a, inputs(), 50))
    for i in range(count):
        write_submission(root / f"e{i:04d}", shared)
    for i, seed in enumerate((51, 52)):
        write_submission(root / f"own{i}", texts(a, correct_outputs(a, inputs(), seed)))
    return root


def graded(tmp_path, count):
    root = shared_mask_class(tmp_path / f"class{count}", count)
    out = tmp_path / f"out{count}"
    batch = run_batch(root, out, jobs=1)
    return batch, out


def test_members_name_their_group_which_is_listed_once(tmp_path):
    batch, out = graded(tmp_path, 40)
    data = json.loads((out / "results.json").read_text())
    groups = data["flag_groups"]
    assert [g["output"] for g in groups] == ["dropout_forward_out_train",
                                             "dropout_backward_out_train"]
    for group in groups:
        assert group["size"] == 40 and group["members"] == [f"e{i:04d}" for i in range(40)]
        assert group["code"] == "identical_dropout_mask"
        assert group["message"].startswith(f"40 submissions share one dropout mask in "
                                           f"{group['output']}")
    by_id = {s["id"]: s for s in data["submissions"]}
    assert by_id["own0"]["flags"] == [] and by_id["own1"]["flags"] == []
    for i in range(40):
        flags = by_id[f"e{i:04d}"]["flags"]
        assert [(f["group"], f["group_size"]) for f in flags] == [("mask-1", 40), ("mask-2", 40)]
        for flag in flags:
            assert len(flag["with"]) == MAX_WITH and f"e{i:04d}" not in flag["with"]
            assert "as 39 other submissions (group mask-" in flag["message"]
    assert [g.id for g in batch.flag_groups] == ["mask-1", "mask-2"]


def test_a_small_group_still_names_every_other_member(tmp_path):
    batch, out = graded(tmp_path, 3)
    flags = {s.id: s.flags for s in batch.submissions}
    assert [f.with_ for f in flags["e0001"]] == [["e0000", "e0002"]] * 2
    assert flags["e0001"][0].message.startswith("same dropout mask in dropout_forward_out_train "
                                                "as e0000, e0002: ")


def test_flags_and_report_grow_linearly_with_a_shared_group(tmp_path):
    sizes = {}
    for count in (60, 240):
        _, out = graded(tmp_path, count)
        data = json.loads((out / "results.json").read_text())
        flags = sum(len(json.dumps(s["flags"])) for s in data["submissions"])
        sizes[count] = {"flags": flags + len(json.dumps(data["flag_groups"])),
                        "report": (out / "report.html").stat().st_size}
        report = (out / "report.html").read_text()
        assert f"{count} submissions share one dropout mask" in report
    for name in ("flags", "report"):
        assert sizes[240][name] / sizes[60][name] < 4.4, name  # 4 times the class: linear
