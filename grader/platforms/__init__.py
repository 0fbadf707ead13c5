"""Graders for the platforms courses grade on: a Gradescope autograder zip and a PrairieLearn
externally graded question, both built from this checkout, and a reader for Gradescope's
"Export Submissions" folder.

The modules here use the grader only through ``grading`` (its public entry points and a result's
``to_dict()``), so that the grader's own layout can change without touching them.
"""
