"""Batch grading: a class graded in worker processes, and the flags that only a whole class shows."""
