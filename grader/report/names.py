"""Feedback page file names and the links to them from the class report."""
import re
from urllib.parse import quote




FEEDBACK_DIR = "feedback"


# Feedback file names: what survives every file system and URL unchanged.
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_MAX_NAME_CHARS = 100
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def feedback_names(ids):
    """A safe, distinct file name (``<name>.html``) for each id in ``ids``, in the same order.

    Ids come from folder and zip names, so they may hold anything a file name can. A name keeps
    ``[A-Za-z0-9._-]`` and turns every other character into ``_``; it never starts with a dot, is
    never a Windows device name, and is cut to 100 characters. Names that would collide (also
    case-insensitively, for macOS and Windows) get ``-2``, ``-3``, ...: ids that are safe names
    already keep theirs, the others follow in id order, so the same ids always get the same names
    whatever order they come in.
    """
    ids = [str(i) for i in ids]
    bases = []
    for student_id in ids:
        base = _UNSAFE_NAME_CHARS.sub("_", student_id)[:_MAX_NAME_CHARS]
        if not base or base.startswith("."):
            base = "_" + base
        if base.split(".")[0].upper() in _WINDOWS_RESERVED:
            base = "_" + base
        bases.append(base)
    names = [None] * len(ids)
    taken = set()
    # Ids that are already safe names keep them; then the others, in id order.
    order = sorted(range(len(ids)), key=lambda i: (bases[i] != ids[i], ids[i].casefold(), ids[i], i))
    for i in order:
        base = bases[i]
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.casefold())
        names[i] = name + ".html"
    return names


def href(name):
    """The link from report.html to a feedback page: fixed prefix, URL-encoded name."""
    return f"{FEEDBACK_DIR}/{quote(name, safe='')}"
