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
    A deterministic output whose file is byte-identical to the instructors' expected file, where
    no honest code reproduces those bytes. Byte identity is what every correct float64
    implementation writes for an output computed without rounding (a max, a copy, the identity)
    or in the order everyone sums (``dout.sum(axis=...)``); and a matrix product's bits depend on
    the operands' shapes, their C or F order and each element's position in the result, so an
    honest student whose code lays the product out as the reference does writes its bytes too.
    An output is therefore flaggable only when NONE of a panel of correct implementations, the
    ones students actually write, reproduces the expected file: per-sample matrix products (with
    C- and F-ordered column matrices), CS231n's ``conv_forward_im2col``/``conv_backward_im2col``
    (``im2col_indices``, ``col2im_indices``) and ``conv_forward_strides``/``conv_backward_strides``,
    whole-batch matrix products, einsum and plain loops (``_panel``); and only when the reference,
    run on the grading machine, does reproduce it (elsewhere the panel's bits prove nothing).
    The panel needs the assignment and the inputs; without them no output is flagged.

    On the default assignment no output is flaggable: the per-sample matrix products compute
    every convolution output exactly as the reference does (here, with OpenBLAS, CS231n's im2col
    reproduces ``conv_forward_out`` too), and the other outputs are exact. The flag then never
    fires: a copy of expected/ cannot be told from honest work there. The machinery stays for
    specs and references whose outputs no common implementation reproduces; the message then says
    that code summing in exactly the reference's order writes the same bytes as a copy.
"""
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

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


@dataclass(frozen=True)
class FlagGroup:
    """Submissions flagged together (sharing one dropout mask in ``output``), listed once: each
    member's Flag names the group by ``id`` instead of listing every other member, which made
    results.json and memory grow with the square of the group (349 MB for 3,200 students)."""

    id: str
    code: str
    output: str
    members: tuple  # of submission ids, in batch order
    message: str

    def to_dict(self):
        return {"id": self.id, "code": self.code, "output": self.output,
                "members": list(self.members), "size": len(self.members),
                "message": self.message}


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
        _flag_copied_expected(submissions, expected_manifest, assignment, inputs)
    return groups


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
    for problem in assignment.problems:
        wanted = {output.role: recorded.get(output.filename, {}).get("sha256")
                  for output in problem.outputs if not output.statistical}
        wanted = {role: sha for role, sha in wanted.items() if sha}
        if not wanted:
            continue
        shas, members = _panel_shas(assignment, inputs, problem, wanted)
        unreproduced = {role for role, sha in wanted.items() if sha not in shas.get(role, ())}
        if unreproduced:
            # On a machine whose arithmetic differs from the one that wrote expected/ (another
            # BLAS, another CPU), the panel's failure says nothing about the students' machines.
            unreproduced &= _reproduced_by_reference(inputs, problem, wanted)
        for output in problem.outputs:
            if output.role in unreproduced:
                flaggable[output.file] = (wanted[output.role], members.get(output.role, 0))
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
                       "of expected/, or code that sums in exactly the reference's order")
            _add(submission, Flag("copied_expected", check.output, [], message))


def independent_shas(assignment, inputs, output):
    """sha256 of the file each independent correct implementation in the panel writes for
    ``output`` (an OutputSpec), as make_outputs.py writes it (``%.18e``)."""
    problem = assignment.problem(output.problem)
    shas, _ = _panel_shas(assignment, inputs, problem)
    return shas.get(output.role, set())


def _panel_shas(assignment, inputs, problem, wanted=None):
    """(role -> set of file sha256s, role -> number of panel members computing it) for one
    problem. With ``wanted`` (role -> sha256), the panel stops as soon as every wanted file has
    been reproduced: from then on no output of the problem can be flagged, and the slow members
    (plain loops, last) never run on outputs that honest vectorised code reproduces."""
    arrays = {spec.role: np.asarray(inputs[spec.file], dtype=np.float64) for spec in problem.inputs}
    nchw = {role: ops.to_nchw(role, a, problem.layout) for role, a in arrays.items()}
    roles = {output.role for output in problem.outputs}
    shas, members, seen = defaultdict(set), defaultdict(int), {}
    for _, result in _panel(problem.op, nchw, problem.reference_params):
        for role, value in result.items():
            if role not in roles:
                continue
            array = np.ascontiguousarray(ops.from_nchw(role, value, problem.layout), np.float64)
            key = (role, array.shape, hashlib.sha256(array.tobytes()).digest())
            if key not in seen:  # the same bits write the same file: format it once
                text = format_array(array, problem.file_format)
                seen[key] = hashlib.sha256(text.encode()).hexdigest()
            shas[role].add(seen[key])
            members[role] += 1
        if wanted and all(sha in shas[role] for role, sha in wanted.items()):
            break
    return dict(shas), dict(members)


def _reproduced_by_reference(inputs, problem, wanted):
    """The roles of ``wanted`` (role -> sha256) whose file the reference, run here, writes."""
    arrays = {spec.role: np.asarray(inputs[spec.file], dtype=np.float64) for spec in problem.inputs}
    results = ops.run(problem, arrays)
    return {role for role, sha in wanted.items() if role in results and hashlib.sha256(
        format_array(results[role], problem.file_format).encode()).hexdigest() == sha}


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _panel(op, a, params):
    """Independent correct implementations of ``op`` (NCHW), cheapest first: each yields
    (description, role -> output)."""
    if op in ("conv_forward", "conv_backward"):
        yield from _conv_panel(op, a, params)
    elif op in ("maxpool_forward", "maxpool_backward"):
        yield "plain loops", _maxpool_loops(op, a, params)
    else:  # dropout test mode: the identity, whatever the implementation
        yield "the identity", {"out_test": a["x"].copy(), "dx_test": a.get("dout", a["x"]).copy()}


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


def _im2col_indices(C, HH, WW, H_out, W_out, sh, sw):
    """CS231n's get_im2col_indices (with a stride per axis): x_pad[:, k, i, j] is (N, K, P)."""
    i = (np.tile(np.repeat(np.arange(HH), WW), C).reshape(-1, 1)
         + sh * np.repeat(np.arange(H_out), W_out).reshape(1, -1))
    j = (np.tile(np.arange(WW), HH * C).reshape(-1, 1)
         + sw * np.tile(np.arange(W_out), H_out).reshape(1, -1))
    k = np.repeat(np.arange(C), HH * WW).reshape(-1, 1)
    return k, i, j


def _conv_panel(op, a, params):
    """What honest students write. BLAS does not sum a product in one order for every layout: the
    bits of a matrix product's element depend on the operands' shapes, their C or F order and the
    element's position in the result, so each common layout is a member of its own."""
    x_pad, windows, geometry = _conv_geometry(a, params)
    N, C, H, W, F, HH, WW, H_out, W_out, sh, sw, ph, pw = geometry
    w, b = a["w"], a["b"]
    K, P = C * HH * WW, H_out * W_out
    w2 = w.reshape(F, -1)
    bias = b[None, :, None, None]
    # Per sample, columns (K, P) C-ordered; rows (P, K) C-ordered, whose .T is F-ordered columns.
    cols_n = np.ascontiguousarray(windows.transpose(0, 1, 4, 5, 2, 3)).reshape(N, K, P)
    rows_n = np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(N, P, K)
    rows = rows_n.reshape(N * P, K)
    # CS231n im2col_indices: x_pad[:, k, i, j].transpose(1, 2, 0).reshape(K, -1), columns (p, n).
    cols_cs = np.ascontiguousarray(cols_n.transpose(1, 2, 0)).reshape(K, P * N)
    # CS231n conv_forward_strides: ascontiguousarray of an as_strided (C, HH, WW, N, H_out, W_out).
    cols_st = np.ascontiguousarray(cols_n.transpose(1, 0, 2)).reshape(K, N * P)
    if op == "conv_forward":
        for name, c in (("per-sample w @ cols", cols_n), ("per-sample w @ rows.T", None)):
            out = np.zeros((N, F, H_out, W_out))
            for n in range(N):
                c_n = rows_n[n].T if c is None else c[n]
                out[n] = (w2 @ c_n).reshape(F, H_out, W_out) + b[:, None, None]
            yield name, {"out": out}
        out = np.zeros((N, F, H_out, W_out))
        for n in range(N):
            out[n] = (rows_n[n] @ w2.T).T.reshape(F, H_out, W_out) + b[:, None, None]
        yield "per-sample rows @ w.T", {"out": out}
        for name, c in (("CS231n im2col_indices", cols_cs),
                        ("CS231n im2col_indices, F-ordered columns", np.asfortranarray(cols_cs))):
            res = w2.dot(c) + b.reshape(-1, 1)
            yield name, {"out": res.reshape(F, H_out, W_out, N).transpose(3, 0, 1, 2)}
        res = w2.dot(cols_st) + b.reshape(-1, 1)
        yield "CS231n conv_forward_strides", {
            "out": res.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)}
        yield "rows @ w.T", {"out": (rows @ w2.T + b).reshape(N, H_out, W_out, F)
                             .transpose(0, 3, 1, 2)}
        yield "w @ rows.T", {"out": (w2 @ rows.T).reshape(F, N, H_out, W_out)
                             .transpose(1, 0, 2, 3) + bias}
        yield "einsum", {"out": np.einsum("nchwij,fcij->nfhw", windows, w) + bias}
        yield "einsum, optimize", {
            "out": np.einsum("nchwij,fcij->nfhw", windows, w, optimize=True) + bias}
        loops = np.zeros((N, F, H_out, W_out))
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        loops[n, f, i, j] = np.sum(windows[n, :, i, j] * w[f]) + b[f]
        yield "plain loops", {"out": loops}
        return
    dout = a["dout"]
    db = np.sum(dout, axis=(0, 2, 3))

    def col2im(dcols):  # (N, C, HH, WW, H_out, W_out), added one kernel offset at a time
        dx_pad = np.zeros_like(x_pad)
        for i in range(HH):
            for j in range(WW):
                dx_pad[:, :, i:i + sh * (H_out - 1) + 1:sh, j:j + sw * (W_out - 1) + 1:sw] += \
                    dcols[:, :, i, j]
        return dx_pad[:, :, ph:ph + H, pw:pw + W]

    # Per sample: dw += dout_n @ cols_n.T, with columns C-ordered or built as rows.T (F-ordered).
    for name, c in (("per-sample matrix products", cols_n),
                    ("per-sample matrix products, F-ordered columns", None)):
        dw = np.zeros_like(w)
        dcols = np.zeros((N, C, HH, WW, H_out, W_out))
        for n in range(N):
            dout_n = dout[n].reshape(F, P)
            dw += (dout_n @ (rows_n[n] if c is None else c[n].T)).reshape(w.shape)
            dcols[n] = (w2.T @ dout_n).reshape(C, HH, WW, H_out, W_out)
        yield name, {"dx": col2im(dcols), "dw": dw, "db": db}
    # CS231n conv_backward_im2col, with col2im_indices (np.add.at).
    dout_cs = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    dx_cols = w2.T.dot(dout_cs)
    k, i, j = _im2col_indices(C, HH, WW, H_out, W_out, sh, sw)
    dx_pad = np.zeros_like(x_pad)
    np.add.at(dx_pad, (slice(None), k, i, j), dx_cols.reshape(K, -1, N).transpose(2, 0, 1))
    dx = dx_pad[:, :, ph:ph + H, pw:pw + W]
    for name, c in (("CS231n conv_backward_im2col", cols_cs),
                    ("CS231n conv_backward_im2col, F-ordered columns", np.asfortranarray(cols_cs))):
        yield name, {"dx": dx, "dw": dout_cs.dot(c.T).reshape(w.shape), "db": db}
    # CS231n conv_backward_strides, with col2im_6d (one kernel offset at a time).
    dout_st = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dcols = w2.T.dot(dout_st).reshape(C, HH, WW, N, H_out, W_out).transpose(3, 0, 1, 2, 4, 5)
    yield "CS231n conv_backward_strides", {
        "dx": col2im(dcols), "dw": dout_st.dot(cols_st.T).reshape(w.shape), "db": db}
    # Vectorised: rows with matrix products, einsum, and NumPy's sums.
    dout2 = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dcols = (dout2 @ w2).reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = np.zeros_like(x_pad)
    for i in range(H_out):  # one window at a time
        for j in range(W_out):
            dx_pad[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += dcols[:, i, j]
    yield "rows with matrix products", {"dx": dx_pad[:, :, ph:ph + H, pw:pw + W],
                                        "dw": (dout2.T @ rows).reshape(w.shape),
                                        "db": dout.sum(axis=(0, 2, 3))}
    yield "einsum", {"dw": np.einsum("nfhw,nchwij->fcij", dout, windows), "db": db}
    yield "einsum, optimize", {"dw": np.einsum("nfhw,nchwij->fcij", dout, windows, optimize=True),
                               "db": dout.sum(axis=3).sum(axis=2).sum(axis=0)}
    # Plain loops, the order the CS231n notes write them in.
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    ys = slice(i * sh, i * sh + HH)
                    xs = slice(j * sw, j * sw + WW)
                    dx_pad[n, :, ys, xs] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, ys, xs] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    yield "plain loops", {"dx": dx_pad[:, :, ph:ph + H, pw:pw + W], "dw": dw, "db": db}


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
