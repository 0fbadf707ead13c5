"""grader/intake/locate.py: layouts, misnamings, did-you-mean, junk, links and limits."""
import pytest

from grader.intake import locate
from grader.errors import SubmissionError
from grader.intake.locate import Located, locate_outputs
from grader.intake.reading import read_values

NAMES = ["conv_forward_out.csv", "conv_backward_out_dx.csv", "conv_backward_out_dw.csv",
         "conv_backward_out_db.csv", "maxpool_forward_out.csv", "maxpool_backward_out.csv",
         "dropout_forward_out_train.csv", "dropout_forward_out_test.csv",
         "dropout_backward_out_train.csv", "dropout_backward_out_test.csv"]


def put(folder, names=NAMES, text="1\n"):
    """Write files ``names`` (paths relative to ``folder``); the folder."""
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def exact(root, names=NAMES):
    return {name: root / name for name in names}


# ---------------------------------------------------------------------------------------------
# Layouts

def test_output_files_at_the_top(tmp_path):
    put(tmp_path / "output_files")
    located = locate_outputs(tmp_path, NAMES)
    assert located == Located(files=exact(tmp_path / "output_files"),
                              root=tmp_path / "output_files", notes=[], misnamed={})
    assert located.to_grade == located.files


def test_the_output_files_folder_itself(tmp_path):
    """`cnngrade check output_files`, as the student README says: no note about where."""
    folder = put(tmp_path / "output_files")
    located = locate_outputs(folder, NAMES)
    assert (located.root, located.files, located.notes) == (folder, exact(folder), [])


def test_loose_csvs_at_the_top(tmp_path):
    put(tmp_path)
    located = locate_outputs(tmp_path, NAMES)
    assert (located.root, located.files) == (tmp_path, exact(tmp_path))
    assert located.notes == ["outputs found at the top of the submission, not in output_files/"]


@pytest.mark.parametrize("inner", ["e0123456g/output_files", "e0123456g/e0123456g/output_files"])
def test_output_files_nested(tmp_path, inner):
    put(tmp_path / inner)
    located = locate_outputs(tmp_path, NAMES)
    assert (located.root, located.files) == (tmp_path / inner, exact(tmp_path / inner))
    assert located.notes == [f"outputs found in {inner}/"]


@pytest.mark.parametrize("inner", ["e0123456g", "e0123456g/assignment2"])
def test_loose_csvs_nested(tmp_path, inner):
    put(tmp_path / inner)
    located = locate_outputs(tmp_path, NAMES)
    assert (located.root, located.files) == (tmp_path / inner, exact(tmp_path / inner))
    assert located.notes == [f"outputs found in {inner}/, not in output_files/"]


def test_output_files_preferred_to_loose_copies(tmp_path):
    put(tmp_path)
    put(tmp_path / "output_files")
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == exact(tmp_path / "output_files")
    assert located.notes == ["the top of the submission also holds 10 output files: not graded; "
                             "the outputs in output_files/ were"]


def test_the_folder_with_the_most_outputs_wins(tmp_path):
    put(tmp_path / "output_files", NAMES[:2])
    put(tmp_path / "results")
    located = locate_outputs(tmp_path, NAMES)
    assert (located.root, located.files) == (tmp_path / "results", exact(tmp_path / "results"))
    assert located.notes == [
        "outputs found in results/, not in output_files/",
        "output_files/ also holds conv_forward_out.csv, conv_backward_out_dx.csv: not graded; "
        "the outputs in results/ were"]


def test_outputs_missing_from_the_folder_are_taken_from_elsewhere(tmp_path):
    put(tmp_path / "output_files", NAMES[:-1])
    put(tmp_path, NAMES[-1:])
    located = locate_outputs(tmp_path, NAMES)
    assert located.root == tmp_path / "output_files"
    assert located.files == {**exact(tmp_path / "output_files", NAMES[:-1]),
                             NAMES[-1]: tmp_path / NAMES[-1]}
    assert located.notes == [
        "dropout_backward_out_test.csv: found at the top of the submission, not with the other "
        "outputs in output_files/; graded, but keep all outputs in one folder"]


def test_missing_outputs_are_absent(tmp_path):
    put(tmp_path / "output_files", NAMES[:3])
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == exact(tmp_path / "output_files", NAMES[:3])
    assert located.misnamed == {} and located.notes == []


@pytest.mark.parametrize("folders", [[], ["output_files"]])
def test_nothing_found(tmp_path, folders):
    for name in folders:
        (tmp_path / name).mkdir()
    put(tmp_path, ["solution.py", "README.md"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == {} and located.misnamed == {}
    assert located.root == tmp_path / (folders[0] if folders else "")
    assert located.notes == ["no output files found; put them in output_files/ at the top of the "
                             "submission (looked up to 3 folders down)"]


def test_nothing_found_names_the_folder_of_data_files(tmp_path):
    put(tmp_path / "results", ["conv_fwd.csv", "pool.csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.root == tmp_path / "results"
    assert located.notes[1:] == ["results/conv_fwd.csv: not an output of this assignment; ignored",
                                 "results/pool.csv: not an output of this assignment; ignored"]


def test_not_a_folder(tmp_path):
    with pytest.raises(SubmissionError, match="is not a folder"):
        locate_outputs(tmp_path / "nowhere", NAMES)
    put(tmp_path, ["file.zip"])
    with pytest.raises(SubmissionError, match="is not a folder"):
        locate_outputs(tmp_path / "file.zip", NAMES)


# ---------------------------------------------------------------------------------------------
# Misnamed files: graded, with a note to rename

MISNAMED = ["Conv_Forward_Out.csv", "CONV_FORWARD_OUT.CSV", "conv_forward_out.CSV",
            "conv_forward_out.txt", "conv_forward_out", "conv_forward_out.csv.txt",
            "conv_forward_out.csv.csv", "conv_forward_out.dat", "conv_forward_out.npy",
            "conv_forward_out (1).csv", "conv_forward_out(2).csv", "conv_forward_out-1.csv",
            "conv_forward_out 2.csv", "conv_forward_out copy.csv", "conv_forward_out copy 2.csv",
            "conv_forward_out - Copy.csv", "conv_forward_out - Copy (2).csv",
            "conv_forward_out_copy.csv", "Copy of conv_forward_out.csv",
            "conv_forward_out (1) (1).csv", "Conv_Forward_Out (1).txt",
            " conv_forward_out.csv", "conv_forward_out.csv ", "conv_forward_out .csv",
            "conv-forward-out.csv", "conv forward out.csv"]


@pytest.mark.parametrize("name", MISNAMED)
def test_misnamed_output_is_graded_with_a_note(tmp_path, name):
    put(tmp_path / "output_files", NAMES[1:] + [name])
    located = locate_outputs(tmp_path, NAMES)
    path = tmp_path / "output_files" / name
    assert located.misnamed == {"conv_forward_out.csv": path}
    assert "conv_forward_out.csv" not in located.files
    assert located.to_grade["conv_forward_out.csv"] == path
    assert located.notes == [f"output_files/{name}: graded as conv_forward_out.csv; rename it"]


def test_all_outputs_misnamed_still_choose_their_folder(tmp_path):
    put(tmp_path / "e0123456g" / "output_files", [n.upper() for n in NAMES])
    put(tmp_path / "input_files", ["conv_forward_in_x.csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.root == tmp_path / "e0123456g" / "output_files"
    assert len(located.misnamed) == 10 and located.files == {}


@pytest.mark.parametrize("name, note", [
    ("conv_foward_out.csv", "did you mean conv_forward_out.csv?"),
    ("conv_forward_out_1.csv", "did you mean conv_forward_out.csv?"),
    ("conv_forward_output.csv", "did you mean conv_forward_out.csv?"),
    ("convforwardout.csv", "did you mean conv_forward_out.csv?"),
])
def test_close_names_get_did_you_mean_and_are_not_graded(tmp_path, name, note):
    put(tmp_path / "output_files", NAMES[1:] + [name])
    located = locate_outputs(tmp_path, NAMES)
    assert "conv_forward_out.csv" not in located.to_grade
    assert located.notes == [f"output_files/{name}: not an output name, not graded; {note}"]


def test_did_you_mean_suggests_a_missing_output(tmp_path):
    # close to both dropout_forward_out_test (present) and _train (missing): the missing one
    put(tmp_path / "output_files", [n for n in NAMES if n != "dropout_forward_out_train.csv"]
        + ["dropout_forward_out_tst.csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.notes == ["output_files/dropout_forward_out_tst.csv: not an output name, not "
                             "graded; did you mean dropout_forward_out_train.csv?"]


def test_unknown_files(tmp_path):
    put(tmp_path / "output_files", NAMES + ["notes.csv", "scratch.txt", "layers.py",
                                            "assignment2.ipynb", "README.md", "plot.png",
                                            "conv_forward_out.py"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == exact(tmp_path / "output_files")
    assert located.notes == ["output_files/notes.csv: not an output of this assignment; ignored",
                             "output_files/scratch.txt: not an output of this assignment; ignored"]


def test_exact_name_wins_over_a_copy(tmp_path):
    put(tmp_path / "output_files", NAMES + ["conv_forward_out (1).csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == exact(tmp_path / "output_files") and located.misnamed == {}
    assert located.notes == ["output_files/conv_forward_out (1).csv: not graded; "
                             "output_files/conv_forward_out.csv was"]


def test_the_surest_of_several_misnamed_files_is_graded(tmp_path):
    put(tmp_path / "output_files", NAMES[1:] + ["conv_forward_out (1).csv",
                                                "conv_forward_out (2).csv", "Conv_Forward_Out.txt"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.misnamed == {
        "conv_forward_out.csv": tmp_path / "output_files" / "Conv_Forward_Out.txt"}
    assert located.notes == [
        "output_files/Conv_Forward_Out.txt: graded as conv_forward_out.csv; rename it",
        "output_files/conv_forward_out (1).csv: not graded; output_files/Conv_Forward_Out.txt "
        "was graded as conv_forward_out.csv",
        "output_files/conv_forward_out (2).csv: not graded; output_files/Conv_Forward_Out.txt "
        "was graded as conv_forward_out.csv"]


def test_outputs_differing_only_in_case_are_not_guessed(tmp_path):
    put(tmp_path, ["OUT_A.csv"])
    located = locate_outputs(tmp_path, ["out_a.csv", "Out_A.csv"])
    assert located.files == {} and located.misnamed == {}


def test_names_with_other_numbers_are_not_copies(tmp_path):
    # "-1" is a copy suffix, but "conv1" is part of the name
    put(tmp_path, ["conv1_out-1.csv", "conv2_out.csv"])
    located = locate_outputs(tmp_path, ["conv1_out.csv", "conv2_out.csv", "conv12_out.csv"])
    assert located.files == {"conv2_out.csv": tmp_path / "conv2_out.csv"}
    assert located.misnamed == {"conv1_out.csv": tmp_path / "conv1_out-1.csv"}


# ---------------------------------------------------------------------------------------------
# Junk, links, limits

def test_macos_and_editor_junk_is_ignored_silently(tmp_path):
    put(tmp_path / "output_files")
    put(tmp_path, [".DS_Store", "output_files/.DS_Store", "output_files/._conv_forward_out.csv",
                   "__MACOSX/output_files/._conv_forward_out.csv",
                   "__MACOSX/output_files/conv_forward_out.csv",
                   "output_files/.ipynb_checkpoints/conv_forward_out-checkpoint.csv",
                   "__pycache__/layers.cpython-311.pyc", ".git/HEAD", "output_files/Thumbs.db",
                   "output_files/~$book.csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located == Located(files=exact(tmp_path / "output_files"),
                              root=tmp_path / "output_files", notes=[], misnamed={})


def test_macos_junk_alone_is_not_an_output(tmp_path):
    put(tmp_path, ["__MACOSX/e0123456g/output_files/._conv_forward_out.csv",
                   "e0123456g/output_files/._conv_forward_out.csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.to_grade == {}


def test_symlinked_folder_is_not_followed(tmp_path):
    outside = put(tmp_path / "outside")
    inside = put(tmp_path / "sub" / "real")
    submission = tmp_path / "sub"
    (submission / "output_files").symlink_to(outside, target_is_directory=True)
    (submission / "alias").symlink_to(inside, target_is_directory=True)
    located = locate_outputs(submission, NAMES)
    assert located.root == submission / "real"  # found through the real folder only
    assert located.files == exact(submission / "real")
    assert "alias: a link to a folder; not followed" in located.notes
    assert "output_files: a link to a folder; not followed" in located.notes


def test_only_a_symlinked_folder(tmp_path):
    outside = put(tmp_path / "outside")
    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / "output_files").symlink_to(outside, target_is_directory=True)
    located = locate_outputs(submission, NAMES)
    assert located.to_grade == {}
    assert located.notes == [
        "no output files found; put them in output_files/ at the top of the submission "
        "(looked up to 3 folders down)",
        "output_files: a link to a folder; not followed"]


def test_symlinked_file_is_returned_for_reading_to_refuse(tmp_path):
    put(tmp_path / "output_files", NAMES[1:])
    put(tmp_path, ["real.csv"])
    link = tmp_path / "output_files" / "conv_forward_out.csv"
    link.symlink_to(tmp_path / "real.csv")
    located = locate_outputs(tmp_path, NAMES)
    assert located.files["conv_forward_out.csv"] == link
    with pytest.raises(SubmissionError, match="is a link; hand in the file itself"):
        read_values(located.files["conv_forward_out.csv"])


def test_dangling_link_with_an_output_name(tmp_path):
    put(tmp_path / "output_files", NAMES[1:])
    (tmp_path / "output_files" / "conv_forward_out.csv").symlink_to("/nonexistent/x.csv")
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == exact(tmp_path / "output_files")


def test_folder_with_an_output_name_is_returned_for_reading_to_refuse(tmp_path):
    put(tmp_path / "output_files", NAMES[1:])
    put(tmp_path / "output_files" / "conv_forward_out.csv", ["inner.csv"])
    located = locate_outputs(tmp_path, NAMES)
    assert located.files == exact(tmp_path / "output_files")
    with pytest.raises(SubmissionError, match="is a folder, not a file"):
        read_values(located.files["conv_forward_out.csv"])


def test_no_deeper_than_three_levels(tmp_path):
    put(tmp_path / "a" / "b" / "c" / "output_files")
    assert locate_outputs(tmp_path, NAMES).to_grade == {}
    assert locate_outputs(tmp_path / "a", NAMES).root == tmp_path / "a" / "b" / "c" / "output_files"


def test_too_many_entries_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(locate, "MAX_ENTRIES", 50)
    put(tmp_path / "output_files")
    put(tmp_path / "data", [f"img{i}.png" for i in range(40)])
    with pytest.raises(SubmissionError) as excinfo:
        locate_outputs(tmp_path, NAMES)
    assert excinfo.value.message == ("holds more than 50 files and folders within 3 levels: not "
                                     "examined; hand in output_files/ and your code only")
    assert excinfo.value.path == tmp_path


def test_entries_below_the_depth_limit_are_not_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(locate, "MAX_ENTRIES", 50)
    put(tmp_path / "output_files")
    put(tmp_path / "a" / "b" / "c" / "d", [f"img{i}.png" for i in range(100)])
    put(tmp_path / ".venv", [f"lib{i}.py" for i in range(100)])
    assert locate_outputs(tmp_path, NAMES).files == exact(tmp_path / "output_files")


def test_the_default_entry_cap():
    assert locate.MAX_ENTRIES == 10_000 and locate.MAX_DEPTH == 3


def test_notes_are_deterministic(tmp_path):
    put(tmp_path / "b", NAMES[:5] + ["zzz.csv", "conv_fwd_out.csv"])
    put(tmp_path / "a", NAMES[:5] + ["zzz.csv", "conv_fwd_out.csv"])
    first = locate_outputs(tmp_path, NAMES)
    assert first.root == tmp_path / "a"  # a tie between a/ and b/: the first by name
    assert first.notes == [
        "outputs found in a/, not in output_files/",
        "a/conv_fwd_out.csv: not an output of this assignment; ignored",
        "a/zzz.csv: not an output of this assignment; ignored",
        "b/ also holds 5 output files: not graded; the outputs in a/ were"]
    assert locate_outputs(tmp_path, NAMES) == first


def test_a_zip_inside_the_submission_is_named(tmp_path):
    (tmp_path / "e0123456g").mkdir()
    (tmp_path / "e0123456g" / "output_files.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    located = locate_outputs(tmp_path, NAMES)
    assert located.to_grade == {}
    assert located.notes[1] == ("e0123456g/output_files.zip: a zip inside the submission is not "
                                "opened; hand in the output files themselves")
