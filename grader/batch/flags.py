"""Batch-level suspicions for the instructor: copied dropout masks and copied expected files.

Flags are facts with their weight of evidence, for a person to look into; they never change a
score, and independent correct work is never flagged.

``identical_dropout_mask``
    Two or more submissions whose dropout train output has the same mask (the fingerprint
    grader/judge/dropout.py computes from the mask and its shape; for an output whose values do
    not define a mask, the file's own sha256). Two independent random masks of ``n`` units with
    drop probability ``q`` coincide with probability ``(q^2 + (1-q)^2)^n`` (``q``: the assignment's
    drop probability, or the mask's own rate when its count rules that out); a group is flagged
    only when,
    over all the pairs of submissions in the batch, a coincidence by chance has probability below
    1e-6, and the message gives the per-pair figure as a power of ten. Masks that are not random
    are not flagged, whatever their number: a mask with a pattern (the check's ``not_random``),
    nothing dropped or everything dropped. Those come from one bug made independently by several
    students, and their check fails already. With the assignment and inputs, the message also says
    when the shared mask is what a well-known fixed seed gives (``np.random.seed(0)`` and
    ``np.random.rand``, ...): students who fixed the same seed share masks without copying.

``copied_expected``: grader/batch/copied.py.
"""
import math
from collections import defaultdict

import numpy as np

from grader.judge.dropout import check_dropout_train
from grader.batch.copied import copied_expected_flags
from grader.results import Flag, FlagGroup

# A group of identical masks is flagged when the chance that ANY pair of the batch's submissions
# shares a mask by coincidence is below this.
CHANCE = 1e-6

# Seeds students commonly fix, tried with the common generators to name a shared seed.
COMMON_SEEDS = (0, 1, 2, 3, 5, 7, 10, 11, 13, 42, 99, 100, 123, 231, 321, 666, 777, 1000, 1234,
                2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 4321, 5242, 12345,
                31337, 54321, 123456)

# Codes under which a shared mask is the same bug, not copying.
_STRUCTURED = {"not_random", "no_dropout", "all_zero"}


# Others a member's flag names in ``with``; the group lists them all.
MAX_WITH = 10


def find_flags(submissions, expected_manifest, assignment=None, inputs=None):
    """Append :class:`grader.results.Flag` objects to the ``flags`` of every submission involved,
    and return the FlagGroups the flags refer to.

    Parameters
    ----------
    submissions : list of SubmissionResult
    expected_manifest : dict or None
        expected/manifest.json (its ``outputs[filename]["sha256"]``), or None.
    assignment, inputs : optional
        The Assignment and its inputs (input file name -> array). With them, shared masks made by
        a common fixed seed are named, and ``copied_expected`` can tell which outputs honest code
        reproduces byte for byte; without them, no ``copied_expected`` flag is raised.
    """
    groups = _flag_identical_masks(submissions, assignment, inputs)
    if expected_manifest and assignment is not None and inputs is not None:
        for submission, flag in copied_expected_flags(submissions, expected_manifest, assignment,
                                                      inputs):
            _add(submission, flag)
    return groups


def _add(submission, flag):
    if not any(f.code == flag.code and f.output == flag.output for f in submission.flags):
        submission.flags.append(flag)


# --------------------------------------------------------------------------------------------------
# identical_dropout_mask
# --------------------------------------------------------------------------------------------------

def mask_key(check):
    """The fingerprint two submissions sharing a mask have in common, or None."""
    if check.status not in ("pass", "fail") or check.fingerprints is None:
        return None
    if check.fingerprints.mask_sha256:
        return ("mask", check.fingerprints.mask_sha256)
    if check.dropout is not None:  # values that define no mask
        return ("file", check.fingerprints.file_sha256)
    return None


def _flag_identical_masks(submissions, assignment, inputs):
    groups = defaultdict(list)
    fingerprinted = defaultdict(int)
    for submission in submissions:
        for check in submission.checks:
            if check.dropout is None:
                continue  # not a dropout train check
            key = mask_key(check)
            if key is None:
                continue
            fingerprinted[check.output] += 1
            groups[(check.output, key)].append((submission, check))
    flagged = []
    for (output, key), members in groups.items():
        ids = tuple(dict.fromkeys(s.id for s, _ in members))
        if len(ids) < 2:
            continue
        check = members[0][1]
        if _structured(check):
            continue
        log10_pair = pair_log10_probability(check)
        pairs = fingerprinted[output] * (fingerprinted[output] - 1) / 2
        if log10_pair is None or log10_pair + math.log10(max(pairs, 1)) > math.log10(CHANCE):
            continue
        seed_note = ""
        if assignment is not None and inputs is not None and key[0] == "mask":
            seed = known_seed(assignment, inputs, output, key[1])
            if seed:
                seed_note = (f"; the mask is what {seed} gives, so a shared fixed seed rather than "
                             "copying may explain it")
        group = FlagGroup(f"mask-{len(flagged) + 1}", "identical_dropout_mask", output, ids,
                          f"{len(ids)} submissions share one dropout mask in {output}: two "
                          f"independent random masks of {_units(check)} units coincide with "
                          f"probability about 1 in 10^{_power(log10_pair)}{seed_note}")
        flagged.append(group)
        for submission, _ in members:
            others = [i for i in ids[:MAX_WITH + 1] if i != submission.id][:MAX_WITH]
            if len(ids) - 1 > len(others):
                who = f"{len(ids) - 1:,} other submissions (group {group.id})"
            else:
                who = ", ".join(others)
            message = (f"same dropout mask in {output} as {who}: two independent random masks "
                       f"of {_units(check)} units coincide with probability about 1 in "
                       f"10^{_power(log10_pair)}{seed_note}")
            _add(submission, Flag("identical_dropout_mask", output, others, message,
                                  group=group.id, group_size=len(ids)))
    return flagged


def _structured(check):
    verdict = check.dropout
    if check.diagnosis_code in _STRUCTURED or verdict.diagnosis in _STRUCTURED:
        return True
    if verdict.structure_failures:
        return True
    return not verdict.tested or verdict.dropped in (0, verdict.tested)


def _units(check):
    verdict = check.dropout
    return int(verdict.tested or verdict.size or check.size or 0)


def pair_log10_probability(check):
    """log10 of the probability that two independent masks like this check's coincide,
    ``n * log10(q^2 + (1-q)^2)``, or None. ``q`` is the drop probability the masks were drawn
    with: the assignment's when the mask's count is consistent with it (the binomial test accepted
    it), else the mask's own drop rate (a student who drew with another probability)."""
    verdict = check.dropout
    n = _units(check)
    if not n or verdict.dropped is None:
        return None
    q = float(verdict.dropped) / n
    accepted = verdict.accepted_interval
    if accepted and accepted[0] <= verdict.dropped <= accepted[1]:
        q = float(verdict.expected_fraction)
    same = q * q + (1 - q) * (1 - q)
    if same >= 1.0:
        return None
    return n * math.log10(same)


def _power(log10_probability):
    return max(1, int(math.floor(-log10_probability)))


def known_seed(assignment, inputs, output_file, digest):
    """A description such as 'np.random.seed(0) with np.random.rand(*x.shape) >= p' when a common
    fixed seed and generator give the mask with this fingerprint, else None."""
    output = assignment.output(output_file)
    problem = assignment.problem(output.problem)
    role = "x" if problem.op == "dropout_forward" else "dout"
    source = inputs[next(i.file for i in problem.inputs if i.role == role)]
    q = problem.drop_prob
    seeds = dict.fromkeys(COMMON_SEEDS + (assignment.seed,))
    for seed in seeds:
        for how, keep in _seeded_keeps(seed, source.shape, q, role):
            verdict = check_dropout_train(source * keep / (1 - q), source, q, output.rtol,
                                          output.atol, source_name=role)
            if verdict.mask_digest == digest:
                return how
    return None


def _seeded_keeps(seed, shape, q, role):
    """(description, keep mask) for the usual ways of drawing a mask with a fixed seed."""
    legacy = np.random.RandomState(seed).random_sample(shape)
    yield f"np.random.seed({seed}) with np.random.rand(*{role}.shape) >= p", legacy >= q
    yield f"np.random.seed({seed}) with np.random.rand(*{role}.shape) < 1 - p", legacy < 1 - q
    yield (f"np.random.seed({seed}) with np.random.binomial(1, 1 - p, {role}.shape)",
           np.random.RandomState(seed).binomial(1, 1 - q, shape).astype(bool))
    fresh = np.random.default_rng(seed).random(shape)
    yield f"np.random.default_rng({seed}).random({role}.shape) >= p", fresh >= q
    yield f"np.random.default_rng({seed}).random({role}.shape) < 1 - p", fresh < 1 - q
    yield (f"np.random.default_rng({seed}).binomial(1, 1 - p, {role}.shape)",
           np.random.default_rng(seed).binomial(1, 1 - q, shape).astype(bool))
