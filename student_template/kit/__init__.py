"""What make_outputs.py and self_check.py share. Your course generated it: do not edit.

assignment.py reads assignment.json (this assignment's problems, files, shapes and parameters);
files.py reads and writes the CSV files; checks.py, layer_checks.py and file_checks.py are the
self-check; dropout_stats.py is a copy of the grader's own dropout statistics.
"""
