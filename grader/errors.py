"""The project's one exception type and its few kinds; the CLI renders them in one place."""


class GraderError(Exception):
    """A problem cnngrade reports to a person as a message, never as a traceback.

    ``path``, ``line`` and ``column`` locate it when it concerns a file.
    """

    def __init__(self, message, path=None, line=None, column=None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self):
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f", line {self.line}"
                if self.column is not None:
                    where += f", column {self.column}"
            where += ": "
        return where + self.message


class SpecError(GraderError):
    """The assignment spec is malformed: grading cannot run."""


class StaleExpectedError(GraderError):
    """expected/ is missing or was computed from other inputs: grading cannot run."""


class SubmissionError(GraderError):
    """A student's file or submission cannot be read; it scores zero, the rest carries on.

    ``code`` is the diagnosis code the check reports (``parse_error``, ``nonfinite``, ...).
    """

    def __init__(self, message, path=None, line=None, column=None, code="parse_error"):
        super().__init__(message, path=path, line=line, column=column)
        self.code = code
