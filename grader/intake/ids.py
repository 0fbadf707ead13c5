"""Student ids, from folder and zip names: printable, normalised, and never two alike.

A folder's name is what a student typed, on whatever system they used: ``café`` from macOS
arrives with a combining accent (NFD), elsewhere precomposed (NFC); a name may hold bytes that are
not UTF-8, control characters, or characters that show as nothing (a zero-width space, a soft
hyphen, a BOM), so that two students display identically. An id is the name NFC-normalised,
undecodable bytes and control, direction-changing and invisible characters replaced by U+FFFD;
ids are compared ignoring case and normalisation (feedback pages are files named by id, and
``e01.html`` and ``E01.html`` are one file on macOS and Windows); a name whose id is taken is
given another, and a note says why.
"""
import unicodedata

# Characters that display as nothing, or as blank space, yet make a name differ, beyond the
# categories _invisible tests: the combining grapheme joiner, Hangul and Braille blanks, Khmer
# vowel inherents, Mongolian variation selectors and variation selectors.
_INVISIBLE_CHARS = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0}
_INVISIBLE_RANGES = ((0x180B, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))


def assign_ids(entries):
    """(id, note) for each ``(bare id, entry name)`` in ``entries``, which come in priority order.

    A first pass gives each entry its cleaned bare id (the folder name, or the zip name without
    ``.zip``) unless an earlier entry took it; each other entry then gets its cleaned full entry
    name, with ``~2``, ``~3``... appended if even that is taken. ``note`` is empty unless the id
    differs from the name: a clash (naming the entry that holds the id) or characters made
    visible.
    """
    taken, ids = {}, {}  # taken: id key -> index of the entry that holds it
    for i, (bare, _name) in enumerate(entries):  # first pass: bare ids
        candidate = clean_id(bare)
        if id_key(candidate) not in taken:
            taken[id_key(candidate)] = i
            ids[i] = candidate
    notes = {}
    for i, (bare, name) in enumerate(entries):  # second pass: the others
        if i in ids:
            if ids[i] != unicodedata.normalize("NFC", bare):
                notes[i] = (f"{visible(name)} is graded as {ids[i]!r}: invisible or unprintable "
                            "characters in its name are shown as \ufffd")
            continue
        holder = taken[id_key(clean_id(bare))]
        candidate, n = clean_id(name), 1
        while id_key(candidate) in taken:
            n += 1
            candidate = f"{clean_id(name)}~{n}"
        taken[id_key(candidate)] = i
        ids[i] = candidate
        notes[i] = (f"{visible(name)} is graded as {candidate!r}: its name gives the same id as "
                    f"{visible(entries[holder][1])}'s ({ids[holder]!r}); ids are compared "
                    "ignoring case and look-alike spellings")
    return [(ids[i], notes.get(i, "")) for i in range(len(entries))]


def clean_id(name):
    """``name`` NFC-normalised and made printable: undecodable bytes (surrogate escapes),
    control, direction-changing and invisible characters become U+FFFD, so that ids survive
    JSON, CSV and terminals, read as what they are, and never look like another's."""
    name = unicodedata.normalize("NFC", decoded(name))
    return "".join("\ufffd" if invisible(c) else c for c in name)


def id_key(student_id):
    """What two ids are compared by: case folded, NFC (folding can undo NFC)."""
    return unicodedata.normalize("NFC", student_id.casefold())


def invisible(char):
    """Whether ``char`` shows as nothing or as blank space (or drives a terminal): control,
    format (zero-width, direction-changing, soft hyphen, BOM, tags), private-use, unassigned and
    separator characters, every space but the plain one, and a few blank letters."""
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or (category == "Zs" and char != " "):
        return True
    code = ord(char)
    return code in _INVISIBLE_CHARS or any(lo <= code <= hi for lo, hi in _INVISIBLE_RANGES)


def visible(name):
    """An entry name for a note, quoted, with what does not show escaped: invisible characters
    and combining marks (so that ``cafe\\u0301`` can be told from ``café``), undecodable bytes as
    U+FFFD."""
    return "'" + "".join(f"\\u{ord(c):04x}" if invisible(c) or unicodedata.combining(c) else c
                         for c in decoded(name)) + "'"


def decoded(text):
    """``text`` with the bytes that were not UTF-8 (lone surrogates, as ``os.fsdecode`` carries
    them) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate no file system decoding produces
        return text.encode("utf-8", "replace").decode("utf-8")
