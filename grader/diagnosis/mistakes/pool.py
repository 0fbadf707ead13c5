"""Max-pooling mistakes (and overlap accumulation, shared with convolution): gradients assigned
instead of added, routed to every position or to the mask only, the last element or the average
instead of the maximum.
"""
import numpy as np

from reference.windows import window_view

from grader.diagnosis.cases import Inapplicable, Variant, fmt_pair, mistake
from grader.diagnosis.catalogue import CATALOGUE
from grader.diagnosis.maths import conv_backward_nchw, maxpool_backward_nchw


def _pool_params(case):
    return (case.params["pool_height"], case.params["pool_width"]) + case.pair("stride")


def _window_size(case):
    if case.op.startswith("conv"):
        F, C, HH, WW = case.nchw("w").shape
        return HH, WW
    return case.params["pool_height"], case.params["pool_width"]


@mistake("not_accumulated", "conv_backward.dx", "maxpool_backward.dx")
def _not_accumulated(case):
    """Contributions assigned (``=``) instead of summed (``+=``): where windows overlap the last
    window wins; in a convolution's loop over filters, the last filter wins."""
    sh, sw = case.pair("stride")
    hh, ww = _window_size(case)
    overlap = sh < hh or sw < ww
    variants = []
    if case.op == "conv_backward":
        x, w, dout = case.nchw("x"), case.nchw("w"), case.nchw("dout")
        pad = case.pair("pad", 0)
        if overlap:
            dx, _ = conv_backward_nchw(x, w, dout, (sh, sw), pad, assign=True)
            variants.append(Variant(
                "not_accumulated",
                f"where the {hh}x{ww} windows overlap (stride {fmt_pair((sh, sw))}) you assigned dx "
                "instead of adding to it; accumulate every window's contribution with +=",
                case.to_file(dx), case.output.shape))
        if w.shape[0] > 1:
            dx, _ = conv_backward_nchw(x, w[-1:], dout[:, -1:], (sh, sw), pad, assign=True)
            variants.append(Variant(
                "not_accumulated",
                "your dx keeps only the last filter's contribution: inside the loop over filters "
                "you assigned dx instead of adding to it; accumulate with +=",
                case.to_file(dx), case.output.shape))
        if not variants:
            raise Inapplicable(f"the {hh}x{ww} windows do not overlap (stride "
                               f"{fmt_pair((sh, sw))}) and there is one filter")
        return variants
    if not overlap:
        raise Inapplicable(f"the {hh}x{ww} windows do not overlap (stride {fmt_pair((sh, sw))})")
    x, dout = case.nchw("x"), case.nchw("dout")
    message = (f"where the {hh}x{ww} pooling windows overlap (stride {fmt_pair((sh, sw))}) you "
               "assigned dx instead of adding to it; accumulate with += so that a position that is "
               "the maximum of several windows receives all their gradients")
    for mode in ("assign_window", "assign_max"):
        dx = maxpool_backward_nchw(x, dout, hh, ww, sh, sw, select="max", combine=mode)
        variants.append(Variant("not_accumulated", message, case.to_file(dx), case.output.shape))
    return variants


@mistake("all_positions", "maxpool_backward.dx")
def _all_positions(case):
    """Each window's gradient sent to every position of the window."""
    ph, pw, sh, sw = _pool_params(case)
    dx = maxpool_backward_nchw(case.nchw("x"), case.nchw("dout"), ph, pw, sh, sw, select="all")
    return [Variant("all_positions", CATALOGUE["all_positions"], case.to_file(dx), case.output.shape)]


@mistake("pool_mask_only", "maxpool_backward.dx")
def _pool_mask_only(case):
    """The argmax mask written without dout: each window's maximum receives 1, not its gradient."""
    ph, pw, sh, sw = _pool_params(case)
    dout = case.nchw("dout")
    dx = maxpool_backward_nchw(case.nchw("x"), np.ones_like(dout), ph, pw, sh, sw, select="max")
    return [Variant("pool_mask_only", CATALOGUE["pool_mask_only"], case.to_file(dx),
                    case.output.shape, uncaught="dout is 1 wherever a window has its maximum")]


@mistake("last_element", "maxpool_forward.out", "maxpool_backward.dx")
def _last_element(case):
    """The last element of each window (row-major) taken as its maximum: passes on an input that
    increases along every window, as linspace does."""
    ph, pw, sh, sw = _pool_params(case)
    x = case.nchw("x")
    uncaught = "the last element of every window of x is its maximum"
    if np.all(np.diff(x, axis=2) >= 0) and np.all(np.diff(x, axis=3) >= 0):
        uncaught = ("x increases along every row and column (a monotonic input, as linspace gives), "
                    "so the last element of every window is its maximum")
    if case.role == "out":
        H_out, W_out = case.output_nchw_hw()
        values = window_view(x, ph, pw, sh, sw, H_out, W_out)[..., -1, -1]
        message = CATALOGUE["last_element"]
    else:
        values = maxpool_backward_nchw(x, case.nchw("dout"), ph, pw, sh, sw, select="last")
        message = ("you sent each window's gradient to its last position instead of the position of "
                   "its maximum; find the argmax of each window of x")
    return [Variant("last_element", message, case.to_file(values), case.output.shape,
                    uncaught=uncaught)]


@mistake("average_pool", "maxpool_forward.out", "maxpool_backward.dx")
def _average_pool(case):
    """Average pooling instead of max-pooling."""
    ph, pw, sh, sw = _pool_params(case)
    x = case.nchw("x")
    if case.role == "out":
        H_out, W_out = case.output_nchw_hw()
        values = window_view(x, ph, pw, sh, sw, H_out, W_out).mean(axis=(4, 5))
        message = CATALOGUE["average_pool"]
    else:
        values = maxpool_backward_nchw(x, case.nchw("dout"), ph, pw, sh, sw, select="mean")
        message = ("you spread each window's gradient evenly over the window (average pooling); "
                   "max-pooling sends it all to the position of the window's maximum")
    return [Variant("average_pool", message, case.to_file(values), case.output.shape)]
