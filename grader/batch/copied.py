"""``copied_expected``: a deterministic output whose file is byte-identical to the instructors'
expected file, where no honest code reproduces those bytes.

expected/ holds correctly rounded values (reference/exact.py: each the float64 nearest the exact
result), which ordinary float64 code rarely hits in every element. Measured with
scripts/measure_copied_expected.py (the panel below plus the fast reference, reference/loops.py and
float32, 21 input draws per spec): no honest implementation reproduced a whole conv_forward_out,
conv_backward_out_dx or conv_backward_out_dw file in 189 to 294 tries per output and spec, though
20 to 63% of single values match; conv_backward_out_db (2 to 4 sums) was reproduced 13% of the
time on the default assignment; max-pool and dropout test outputs (a max, a copy) always are.

An output is therefore flaggable only when NONE of a panel of correct implementations, the ones
students actually write, reproduces the expected file: per-sample matrix products (with C- and
F-ordered column matrices), CS231n's ``conv_forward_im2col``/``conv_backward_im2col``
(``im2col_indices``, ``col2im_indices``) and ``conv_forward_strides``/``conv_backward_strides``,
whole-batch matrix products, einsum and plain loops (``_panel``), and only when the exact
reference, run on the grading machine, writes expected's bytes (a stale or hand-edited expected/
proves nothing). On the default assignment that flags copies of the three large convolution
outputs and nothing else. The panel needs the assignment and the inputs; without them no output
is flagged.
"""
import hashlib
from collections import defaultdict

import numpy as np

from reference.windows import window_view

from grader.assignment import ops
from grader.assignment.csvio import format_array
from grader.results import Flag


def copied_expected_flags(submissions, manifest, assignment, inputs):
    """(submission, Flag) for every file byte-identical to an expected file no honest code
    reproduces."""
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
    for submission in submissions:
        for check in submission.checks:
            if check.output not in flaggable:
                continue
            sha, panel = flaggable[check.output]
            if check.fingerprints is None or check.fingerprints.file_sha256 != sha:
                continue
            message = (f"{check.output}.csv is byte-identical to the instructors' expected file: "
                       "every value carries the reference's own floating-point rounding, which "
                       f"none of {panel} independent correct implementations reproduces; a copy "
                       "of expected/, or code that sums in exactly the reference's order")
            yield submission, Flag("copied_expected", check.output, [], message)


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
    results = ops.run(problem, arrays, exact=True)
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
    layout = _ConvLayout(a, params)
    if op == "conv_forward":
        yield from _conv_forward_members(layout, a["w"], a["b"])
    else:
        yield from _conv_backward_members(layout, a["w"], a["dout"])


class _ConvLayout:
    """The padded input and its windows, in the column and row layouts students build."""

    def __init__(self, a, params):
        self.x_pad, self.windows, geometry = _conv_geometry(a, params)
        (self.N, self.C, self.H, self.W, self.F, self.HH, self.WW, self.H_out, self.W_out,
         self.sh, self.sw, self.ph, self.pw) = geometry
        N, K, P = self.N, self.C * self.HH * self.WW, self.H_out * self.W_out
        self.K, self.P = K, P
        # Per sample, columns (K, P) C-ordered; rows (P, K) C-ordered, whose .T is F-ordered columns.
        self.cols_n = np.ascontiguousarray(self.windows.transpose(0, 1, 4, 5, 2, 3)).reshape(N, K, P)
        self.rows_n = np.ascontiguousarray(self.windows.transpose(0, 2, 3, 1, 4, 5)).reshape(N, P, K)
        self.rows = self.rows_n.reshape(N * P, K)
        # CS231n im2col_indices: x_pad[:, k, i, j].transpose(1, 2, 0).reshape(K, -1), columns (p, n).
        self.cols_cs = np.ascontiguousarray(self.cols_n.transpose(1, 2, 0)).reshape(K, P * N)
        # CS231n conv_forward_strides: ascontiguousarray of an as_strided (C, HH, WW, N, H_out, W_out).
        self.cols_st = np.ascontiguousarray(self.cols_n.transpose(1, 0, 2)).reshape(K, N * P)

    def unpad(self, dx_pad):
        return dx_pad[:, :, self.ph:self.ph + self.H, self.pw:self.pw + self.W]

    def col2im(self, dcols):
        """dx from (N, C, HH, WW, H_out, W_out) column gradients, one kernel offset at a time."""
        dx_pad = np.zeros_like(self.x_pad)
        for i in range(self.HH):
            for j in range(self.WW):
                dx_pad[:, :, i:i + self.sh * (self.H_out - 1) + 1:self.sh,
                       j:j + self.sw * (self.W_out - 1) + 1:self.sw] += dcols[:, :, i, j]
        return self.unpad(dx_pad)


def _conv_forward_members(g, w, b):
    N, F, H_out, W_out = g.N, g.F, g.H_out, g.W_out
    w2 = w.reshape(F, -1)
    bias = b[None, :, None, None]
    for name, product in (("per-sample w @ cols", lambda n: w2 @ g.cols_n[n]),
                          ("per-sample w @ rows.T", lambda n: w2 @ g.rows_n[n].T),
                          ("per-sample rows @ w.T", lambda n: (g.rows_n[n] @ w2.T).T)):
        out = np.zeros((N, F, H_out, W_out))
        for n in range(N):
            out[n] = product(n).reshape(F, H_out, W_out) + b[:, None, None]
        yield name, {"out": out}
    for name, c in (("CS231n im2col_indices", g.cols_cs),
                    ("CS231n im2col_indices, F-ordered columns", np.asfortranarray(g.cols_cs))):
        res = w2.dot(c) + b.reshape(-1, 1)
        yield name, {"out": res.reshape(F, H_out, W_out, N).transpose(3, 0, 1, 2)}
    res = w2.dot(g.cols_st) + b.reshape(-1, 1)
    yield "CS231n conv_forward_strides", {"out": res.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)}
    yield "rows @ w.T", {"out": (g.rows @ w2.T + b).reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)}
    yield "w @ rows.T", {"out": (w2 @ g.rows.T).reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3) + bias}
    yield "einsum", {"out": np.einsum("nchwij,fcij->nfhw", g.windows, w) + bias}
    yield "einsum, optimize", {
        "out": np.einsum("nchwij,fcij->nfhw", g.windows, w, optimize=True) + bias}
    loops = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    loops[n, f, i, j] = np.sum(g.windows[n, :, i, j] * w[f]) + b[f]
    yield "plain loops", {"out": loops}


def _conv_backward_members(g, w, dout):
    yield from _backward_matrix_products(g, w, dout)
    yield from _backward_vectorised(g, w, dout)
    yield "plain loops", _backward_loops(g, w, dout)


def _backward_matrix_products(g, w, dout):
    """Per-sample products and CS231n's im2col and strides versions."""
    N, C, F, HH, WW, H_out, W_out = g.N, g.C, g.F, g.HH, g.WW, g.H_out, g.W_out
    w2 = w.reshape(F, -1)
    db = np.sum(dout, axis=(0, 2, 3))
    # Per sample: dw += dout_n @ cols_n.T, with columns C-ordered or built as rows.T (F-ordered).
    for name, f_ordered in (("per-sample matrix products", False),
                            ("per-sample matrix products, F-ordered columns", True)):
        dw = np.zeros_like(w)
        dcols = np.zeros((N, C, HH, WW, H_out, W_out))
        for n in range(N):
            dout_n = dout[n].reshape(F, g.P)
            dw += (dout_n @ (g.rows_n[n] if f_ordered else g.cols_n[n].T)).reshape(w.shape)
            dcols[n] = (w2.T @ dout_n).reshape(C, HH, WW, H_out, W_out)
        yield name, {"dx": g.col2im(dcols), "dw": dw, "db": db}
    # CS231n conv_backward_im2col, with col2im_indices (np.add.at).
    dout_cs = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    k, i, j = _im2col_indices(C, HH, WW, H_out, W_out, g.sh, g.sw)
    dx_pad = np.zeros_like(g.x_pad)
    np.add.at(dx_pad, (slice(None), k, i, j), w2.T.dot(dout_cs).reshape(g.K, -1, N).transpose(2, 0, 1))
    for name, c in (("CS231n conv_backward_im2col", g.cols_cs),
                    ("CS231n conv_backward_im2col, F-ordered columns", np.asfortranarray(g.cols_cs))):
        yield name, {"dx": g.unpad(dx_pad), "dw": dout_cs.dot(c.T).reshape(w.shape), "db": db}
    # CS231n conv_backward_strides, with col2im_6d (one kernel offset at a time).
    dout_st = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dcols = w2.T.dot(dout_st).reshape(C, HH, WW, N, H_out, W_out).transpose(3, 0, 1, 2, 4, 5)
    yield "CS231n conv_backward_strides", {
        "dx": g.col2im(dcols), "dw": dout_st.dot(g.cols_st.T).reshape(w.shape), "db": db}


def _backward_vectorised(g, w, dout):
    """Rows with matrix products, einsum, and NumPy's sums."""
    F, HH, WW, sh, sw = g.F, g.HH, g.WW, g.sh, g.sw
    db = np.sum(dout, axis=(0, 2, 3))
    dout2 = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dcols = (dout2 @ w.reshape(F, -1)).reshape(g.N, g.H_out, g.W_out, g.C, HH, WW)
    dx_pad = np.zeros_like(g.x_pad)
    for i in range(g.H_out):  # one window at a time
        for j in range(g.W_out):
            dx_pad[:, :, i * sh:i * sh + HH, j * sw:j * sw + WW] += dcols[:, i, j]
    yield "rows with matrix products", {"dx": g.unpad(dx_pad), "dw": (dout2.T @ g.rows).reshape(w.shape),
                                        "db": dout.sum(axis=(0, 2, 3))}
    yield "einsum", {"dw": np.einsum("nfhw,nchwij->fcij", dout, g.windows), "db": db}
    yield "einsum, optimize", {"dw": np.einsum("nfhw,nchwij->fcij", dout, g.windows, optimize=True),
                               "db": dout.sum(axis=3).sum(axis=2).sum(axis=0)}


def _backward_loops(g, w, dout):
    """Plain loops, the order the CS231n notes write them in."""
    dx_pad = np.zeros_like(g.x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(g.F)
    for n in range(g.N):
        for f in range(g.F):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    ys = slice(i * g.sh, i * g.sh + g.HH)
                    xs = slice(j * g.sw, j * g.sw + g.WW)
                    dx_pad[n, :, ys, xs] += w[f] * dout[n, f, i, j]
                    dw[f] += g.x_pad[n, :, ys, xs] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    return {"dx": g.unpad(dx_pad), "dw": dw, "db": db}


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
