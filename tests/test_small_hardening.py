"""Smaller promises of the hardening: no NumPy RuntimeWarning reaches the terminal whatever the
values, results.json and the gradebook are synced to disk with their folder, and --jobs is
clamped to the work."""
import os
import stat
import warnings

import numpy as np

from grader import atomic
from grader.pipeline import check_submission

from grader.simulate import correct_outputs, texts
from simulated import EXPECTED, INPUTS, SPEC, write_submission
from test_batch import inputs, load_assignment, run_batch


def huge_class(root):
    a = load_assignment()
    outputs = correct_outputs(a, inputs(), 5)
    for name, value in (("big", 1.7e308), ("negative", -1.7e308), ("tiny", 5e-324)):
        everywhere = {k: np.full_like(v, value) for k, v in outputs.items()}
        write_submission(root / name / "output_files", texts(a, everywhere))
        once = {k: v.copy() for k, v in outputs.items()}
        for v in once.values():
            v.flat[0] = value
        write_submission(root / f"{name}-once" / "output_files", texts(a, once))
    return root


def test_values_near_the_float_limits_raise_no_runtime_warning(tmp_path):
    root = huge_class(tmp_path / "class")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = run_batch(root, tmp_path / "out", jobs=1)
        for folder in sorted(root.iterdir()):
            check_submission(folder, spec_path=SPEC, inputs_dir=INPUTS, expected_dir=EXPECTED)
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert len(batch.submissions) == 6 and all(s.error is None for s in batch.submissions)


def test_results_and_gradebook_are_synced_with_their_folder(tmp_path, monkeypatch):
    synced = []  # (inode, is a folder) of every fsync, which still happens for real
    real_fsync = os.fsync

    def fsync(fd):
        info = os.fstat(fd)
        synced.append((info.st_ino, stat.S_ISDIR(info.st_mode)))
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    root = tmp_path / "class"
    a = load_assignment()
    write_submission(root / "s" / "output_files", texts(a, correct_outputs(a, inputs(), 6)))
    out = tmp_path / "out"
    run_batch(root, out, jobs=1)
    for name in ("results.json", "gradebook.csv"):
        assert (os.stat(out / name).st_ino, False) in synced, name
    assert (os.stat(out).st_ino, True) in synced
