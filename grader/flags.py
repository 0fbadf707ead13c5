"""Batch-level suspicions for the instructor: copied dropout masks and copied expected files.

Flags are facts with their weight of evidence, for a person to look into; they never change a
score, and independent correct work is never flagged.

``identical_dropout_mask``
    Two or more submissions whose dropout train output has the same mask (the fingerprint
    grader/dropout_stats.py computes from the mask and its shape; for an output whose values do
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

``copied_expected``
    A deterministic output whose file is byte-identical to the instructors' expected file. Byte
    identity is what every correct float64 implementation writes for an output computed without
    rounding (a max, a copy, the identity) or in the order everyone sums (``dout.sum(axis=...)``),
    so an output is only flagged when none of a panel of independent correct implementations
    (plain loops, einsum, im2col with a matrix product) reproduces the expected file's bytes: then
    every value carries the reference's own floating-point rounding. The panel needs the
    assignment and the inputs; without them no output is flagged. Code that computes exactly as
    the reference does (the same tensordot over the same windows) reproduces those bytes too; the
    message says so.
"""
import hashlib
import math
from collections import defaultdict

import numpy as np

from reference.windows import window_view

from . import ops
from .csvio import format_array
from .dropout_stats import check_dropout_train
from .results import Flag

# A group of identical masks is flagged when the chance that ANY pair of the batch's submissions
# shares a mask by coincidence is below this.
CHANCE = 1e-6

# Seeds students commonly fix, tried with the common generators to name a shared seed.
COMMON_SEEDS = (0, 1, 2, 3, 5, 7, 10, 11, 13, 42, 99, 100, 123, 231, 321, 666, 777, 1000, 1234,
                2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 4321, 5242, 12345,
                31337, 54321, 123456)

# Codes under which a shared mask is the same bug, not copying.
_STRUCTURED = {"not_random", "no_dropout", "all_zero"}


def find_flags(submissions, expected_manifest, assignment=None, inputs=None):
    """Append :class:`grader.results.Flag` objects to the ``flags`` of every submission involved.

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
    _flag_identical_masks(submissions, assignment, inputs)
    if expected_manifest and assignment is not None and inputs is not None:
        _flag_copied_expected(submissions, expected_manifest, assignment, inputs)


def _add(submission, flag):
    if not any(f.code == flag.code and f.output == flag.output for f in submission.flags):
        submission.flags.append(flag)


# --------------------------------------------------------------------------------------------------
# identical_dropout_mask
# --------------------------------------------------------------------------------------------------

def mask_key(check):
    """The fingerprint two submissions sharing a mask have in common, or None."""
    details = check.details or {}
    if check.status not in ("pass", "fail"):
        return None
    if details.get("mask_sha256"):
        return ("mask", details["mask_sha256"])
    if details.get("file_sha256") and "dropped" in details:  # values that define no mask
        return ("file", details["file_sha256"])
    return None


def _flag_identical_masks(submissions, assignment, inputs):
    groups = defaultdict(list)
    fingerprinted = defaultdict(int)
    for submission in submissions:
        for check in submission.checks:
            if "dropped" not in (check.details or {}):
                continue  # not a dropout train check
            key = mask_key(check)
            if key is None:
                continue
            fingerprinted[check.output] += 1
            groups[(check.output, key)].append((submission, check))
    for (output, key), members in groups.items():
        ids = list(dict.fromkeys(s.id for s, _ in members))
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
        for submission, _ in members:
            others = [i for i in ids if i != submission.id]
            message = (f"same dropout mask in {output} as {', '.join(others)}: two independent "
                       f"random masks of {_units(check)} units coincide with probability about "
                       f"1 in 10^{_power(log10_pair)}{seed_note}")
            _add(submission, Flag("identical_dropout_mask", output, others, message))


def _structured(check):
    details = check.details or {}
    if check.diagnosis in _STRUCTURED or details.get("diagnosis") in _STRUCTURED:
        return True
    if details.get("structure_failures"):
        return True
    tested, dropped = details.get("tested"), details.get("dropped")
    return not tested or dropped in (0, tested)


def _units(check):
    details = check.details or {}
    return int(details.get("tested") or details.get("size") or check.size or 0)


def pair_log10_probability(check):
    """log10 of the probability that two independent masks like this check's coincide,
    ``n * log10(q^2 + (1-q)^2)``, or None. ``q`` is the drop probability the masks were drawn
    with: the assignment's when the mask's count is consistent with it (the binomial test accepted
    it), else the mask's own drop rate (a student who drew with another probability)."""
    details = check.details or {}
    n = _units(check)
    dropped = details.get("dropped")
    if not n or dropped is None:
        return None
    q = float(dropped) / n
    accepted = details.get("accepted_interval")
    if details.get("expected_fraction") is not None and accepted and \
            accepted[0] <= dropped <= accepted[1]:
        q = float(details["expected_fraction"])
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


# --------------------------------------------------------------------------------------------------
# copied_expected
# --------------------------------------------------------------------------------------------------

def _flag_copied_expected(submissions, manifest, assignment, inputs):
    recorded = manifest.get("outputs", {})
    flaggable = {}
    for output in assignment.outputs:
        sha = recorded.get(output.filename, {}).get("sha256")
        if output.statistical or not sha:
            continue
        reproducers = independent_shas(assignment, inputs, output)
        if sha not in reproducers:
            flaggable[output.file] = (sha, len(reproducers))
    if not flaggable:
        return
    for submission in submissions:
        for check in submission.checks:
            if check.output not in flaggable:
                continue
            sha, panel = flaggable[check.output]
            if (check.details or {}).get("file_sha256") != sha:
                continue
            message = (f"{check.output}.csv is byte-identical to the instructors' expected file: "
                       "every value carries the reference's own floating-point rounding, which "
                       f"none of {panel} independent correct implementations reproduces; a copy "
                       "of expected/, or the reference's own code (the same tensordot over the same "
                       "windows)")
            _add(submission, Flag("copied_expected", check.output, [], message))


def independent_shas(assignment, inputs, output):
    """sha256 of the file each independent correct implementation in the panel writes for
    ``output`` (an OutputSpec), as make_outputs.py writes it (``%.18e``)."""
    problem = assignment.problem(output.problem)
    arrays = {spec.role: np.asarray(inputs[spec.file], dtype=np.float64) for spec in problem.inputs}
    nchw = {role: ops.to_nchw(role, a, problem.layout) for role, a in arrays.items()}
    shas = set()
    for result in _panel(problem.op, nchw, problem.reference_params):
        if output.role in result:
            array = ops.from_nchw(output.role, result[output.role], problem.layout)
            text = format_array(array, problem.file_format)
            shas.add(hashlib.sha256(text.encode()).hexdigest())
    return shas


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _panel(op, a, params):
    """Independent correct implementations of ``op`` (NCHW): each yields role -> output."""
    if op in ("conv_forward", "conv_backward"):
        yield from _conv_panel(op, a, params)
    elif op in ("maxpool_forward", "maxpool_backward"):
        yield _maxpool_loops(op, a, params)
    else:  # dropout test mode: the identity, whatever the implementation
        yield {"out_test": a["x"].copy(), "dx_test": a.get("dout", a["x"]).copy()}


def _conv_geometry(a, params):
    sh, sw = _pair(params.get("stride", 1))
    ph, pw = _pair(params.get("pad", 0))
    x, w = a["x"], a["w"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * ph - HH) // sh + 1
    W_out = (W + 2 * pw - WW) // sw + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = window_view(x_pad, HH, WW, sh, sw, H_out, W_out)  # (N, C, H_out, W_out, HH, WW)
    return x_pad, windows, (N, C, H, W, F, HH, WW, H_out, W_out, sh, sw, ph, pw)


def _conv_panel(op, a, params):
    x_pad, windows, geometry = _conv_geometry(a, params)
    N, C, H, W, F, HH, WW, H_out, W_out, sh, sw, ph, pw = geometry
    w, b = a["w"], a["b"]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * HH * WW)
    w2 = w.reshape(F, -1)
    if op == "conv_forward":
        loops = np.zeros((N, F, H_out, W_out))
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        loops[n, f, i, j] = np.sum(windows[n, :, i, j] * w[f]) + b[f]
        yield {"out": loops}
        bias = b[None, :, None, None]
        yield {"out": np.einsum("nchwij,fcij->nfhw", windows, w) + bias}
        yield {"out": np.einsum("nchwij,fcij->nfhw", windows, w, optimize=True) + bias}
        yield {"out": (cols @ w2.T + b).reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)}
        yield {"out": (w2 @ cols.T).reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3) + bias}
        return
    dout = a["dout"]
    # Plain loops, the order the CS231n notes write them in.
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * sh, i * sh + HH)
                    columns = slice(j * sw, j * sw + WW)
                    dx_pad[n, :, rows, columns] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, columns] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    yield {"dx": dx_pad[:, :, ph:ph + H, pw:pw + W], "dw": dw, "db": db}
    # Vectorised: im2col with matrix products, einsum, and NumPy's sums.
    dout2 = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dcols = (dout2 @ w2).reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = np.zeros_like(x_pad)
    for i in range(H_out):
        for j in range(W_out):
            dx_pad[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += dcols[:, i, j]
    yield {"dx": dx_pad[:, :, ph:ph + H, pw:pw + W], "dw": (dout2.T @ cols).reshape(w.shape),
           "db": dout.sum(axis=(0, 2, 3))}
    yield {"dw": np.einsum("nfhw,nchwij->fcij", dout, windows),
           "db": np.sum(dout, axis=(0, 2, 3))}
    yield {"dw": np.einsum("nfhw,nchwij->fcij", dout, windows, optimize=True),
           "db": dout.sum(axis=3).sum(axis=2).sum(axis=0)}


def _maxpool_loops(op, a, params):
    x = a["x"]
    ph, pw = params["pool_height"], params["pool_width"]
    sh, sw = _pair(params.get("stride", 1))
    N, C, H, W = x.shape
    H_out, W_out = (H - ph) // sh + 1, (W - pw) // sw + 1
    out = np.zeros((N, C, H_out, W_out))
    dx = np.zeros_like(x)
    dout = a.get("dout")
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw]
                    out[n, c, i, j] = window.max()
                    if dout is not None:
                        r, s = np.unravel_index(np.argmax(window), window.shape)
                        dx[n, c, i * sh + r, j * sw + s] += dout[n, c, i, j]
    return {"out": out, "dx": dx}
