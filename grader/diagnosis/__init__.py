"""The diagnosis stage: the catalogue of known mistakes, the variants that recompute them from the
inputs, the diagnoser that says which one a failing output matches, and the audit of inputs."""
