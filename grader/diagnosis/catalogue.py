"""The catalogue of diagnosis codes: for each, the standard sentence that names the mistake and
its fix; and the :class:`~grader.results.Diagnosis` the grader hands over for a code.
"""
from grader.results import Diagnosis


# The standard sentence for every code: what pipeline.py shows for codes found elsewhere (reading,
# dropout statistics), and what a specific message refines.
CATALOGUE = {
    "column_major": "you wrote the values in column-major (Fortran) order; flatten with x.ravel() "
                    "(C order) before writing",
    "layout": "you wrote the array's axes in another order than the assignment's layout; transpose "
              "the array to the layout the files use before flattening it",
    "flipped_kernel": "you computed a true convolution (the kernel rotated by 180 degrees); a "
                      "convolutional layer computes cross-correlation, so use w without flipping it",
    "pad_convention": "you padded with the wrong number of zeros per side; check whether this "
                      "assignment's pad is the total padding or the padding on each side",
    "pad_ignored": "you did not zero-pad the input; pad x with np.pad before sliding the windows",
    "stride_ignored": "you moved the windows one pixel at a time; step them by the stride",
    "off_by_one_size": "your output size is off by one; compute it as "
                       "(H + 2*pad - HH) // stride + 1 (floor division)",
    "dx_padded": "you returned dx with the padding still on; crop it back to x's shape",
    "one_sample": "you wrote the output of a single sample; run the layer over the whole batch",
    "wrong_count": "the file holds a number of values that matches no known mistake; write the whole "
                   "output array, flattened in C order",
    "low_precision": "you wrote too few significant digits for the tolerance; write every digit, "
                     "e.g. with np.savetxt's default format '%.18e'",
    "sign_flip": "every value has the wrong sign; look for a stray minus sign",
    "missing_bias": "you did not add the bias; add b[f] to every output position of filter f",
    "not_accumulated": "where windows overlap you assigned the gradient instead of adding it; "
                       "accumulate with += so that every window's contribution is summed",
    "all_positions": "you passed each window's gradient to every position of the window; only the "
                     "position of its maximum receives it",
    "pool_mask_only": "you wrote the mask of each window's maximum without the gradient; "
                      "multiply it by dout, so that the maximum receives dout[n, c, i, j]",
    "wrong_input": "you computed the dropout gradient from x; the backward pass applies the mask "
                   "(and the train-mode scaling) to dout",
    "bias_broadcast": "every filter got the same bias; add b[f] to the output of filter f, not b[0]",
    "transposed_kernel": "you indexed the kernel as w[f, c, j, i] (transposed); a window position "
                         "(i, j) is multiplied by w[f, c, i, j]",
    "last_element": "you took the last element of each window instead of its maximum; take the max "
                    "over the whole window",
    "average_pool": "you averaged each window; max-pooling takes the maximum of the window",
    "batch_mean": "you divided the gradient by the batch size; the gradient of a layer sums over "
                  "the batch, it is not averaged",
    "all_zero": "every value is 0: the output array was never filled in; check that your function "
                "writes into it and returns it",
    "keep_probability": "you read p as the keep probability where this assignment means the drop "
                        "probability (or the reverse); keep units with probability 1 - (drop "
                        "probability) and scale them by its inverse",
    "no_scaling": "you did not scale the kept units; inverted dropout divides them by the keep "
                  "probability in train mode",
    "scaled_by_drop": "you divided the kept units by the drop probability; inverted dropout "
                      "divides them by the keep probability, 1 - (drop probability)",
    "normal_draw": "you drew the dropout mask from a normal distribution (np.random.randn), which "
                   "keeps another fraction of the units than p says; compare uniform numbers, "
                   "np.random.rand(*x.shape), with p",
    "inverse_scaling": "you multiplied the kept units by the keep probability; inverted dropout "
                       "divides them by it",
    "no_dropout": "no unit was dropped in train mode; draw a random mask and zero the dropped units",
    "scaled_at_test": "you scaled the test-mode output; inverted dropout returns its input unchanged "
                      "at test time",
    "dropout_at_test": "you dropped units in test mode; test mode returns its input unchanged",
    "not_random": "your dropout mask is not random (it has a pattern); draw every unit "
                  "independently, e.g. np.random.default_rng().random(x.shape) >= p",
    "nonfinite": "the file holds NaN or Inf; look for a division by zero or an array made with "
                 "np.empty that was never filled",
    "parse_error": "the file could not be read as numbers; write numbers only, with np.savetxt, "
                   "without a header, an index column or brackets",
    "missing_file": "the output file is missing; write it into output_files/ under the name the "
                    "assignment gives",
}


def diagnosis(code, message=""):
    """A :class:`Diagnosis` for ``code``, with the catalogue's standard sentence beside
    ``message`` (this student's own sentence, "" when only the code is known)."""
    return Diagnosis(code, message, CATALOGUE.get(code, ""))


def explain(code):
    """The catalogue's standard :class:`Diagnosis` for ``code``, its sentence as the message; an
    unknown code gets an empty one (the check's own message then stands alone)."""
    return Diagnosis(code, CATALOGUE.get(code, ""), CATALOGUE.get(code, ""))
