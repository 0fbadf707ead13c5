"""Terminal lines of per-student grading, for the instructor (who alone holds the secret)."""


def format_student_check(result):
    """What `cnngrade check --roster --secret` adds below the table: whose inputs were used, and
    the result's flags (they may name other students: never show them to a student)."""
    lines = []
    if result.inputs_fingerprint:
        lines.append(f"graded against the inputs of {result.id} "
                     f"(seed fingerprint {result.inputs_fingerprint})")
    for flag in result.flags:
        lines.append(f"flag {flag.code}: {flag.message}")
    return "\n".join(lines)


def format_not_on_roster(ids):
    """The line that lists submissions not graded because their name is not on the roster."""
    if not ids:
        return ""
    return (f"not graded, not on the roster ({len(ids)}): {', '.join(ids)}; rename each to its "
            "student's id, or add the student to the roster")
