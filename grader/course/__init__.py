"""The course around the grader: the class list, LMS downloads in, LMS gradebooks out,
overrides, the late policy and the regrade diff.

These modules work from what cnngrade already writes (a grades folder's results.json) and from
files instructors bring (a roster, an overrides table, the spec's ``[late]`` table); they never
change how a submission is graded.
"""
