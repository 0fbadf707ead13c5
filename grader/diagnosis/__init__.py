"""The diagnosis stage: the catalogue of known mistakes (catalogue.py), the variants that recompute
each from the inputs (cases.py, mistakes/ by family, maths.py for what the reference cannot
compute), the matching of a student's values against them (matching.py), the Diagnoser that says
which one a failing output matches (diagnoser.py), and the audit of the inputs (audit.py).

A new mistake: a function in the family module of mistakes/ decorated with ``@mistake(code,
targets...)``, its sentence in catalogue.CATALOGUE, its place in cases.PRECEDENCE, and a simulated
student in tests/test_diagnose.py.
"""
