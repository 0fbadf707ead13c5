"""Batch grading: a class graded in worker processes, the flags that only a whole class shows,
and a class graded in slices on many machines, then merged."""
