"""Where cnngrade's own data files are: in the source checkout this code runs from (an editable
install), else under an installation prefix's share/cnngrade/ (pyproject.toml's data-files)."""
import os
import sys
import sysconfig
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
SHARE = Path("share") / "cnngrade"


def data_candidates(in_checkout, installed):
    """The folders that may hold a data folder, in the order to search them: ``in_checkout``
    (relative to the checkout; "" for its root), then ``<prefix>/share/cnngrade/<installed>`` for
    each installation prefix (the environment's, sys.prefix, the user's)."""
    candidates = [CHECKOUT / in_checkout]
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", f"{os.name}_user"))
    except KeyError:  # no user scheme on this platform
        pass
    for prefix in prefixes:
        candidate = Path(prefix) / SHARE / installed
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates
