"""The catalogued mistakes, one module per family; importing this package registers them all in
grader.diagnosis.cases.MISTAKES, in catalogue order (the most specific first)."""
from grader.diagnosis.mistakes import general, conv, pool, dropout  # noqa: F401
