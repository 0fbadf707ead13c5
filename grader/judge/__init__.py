"""The judge stage: the one tolerance rule, the comparison of a deterministic output with its
expected array, and the statistics of a dropout output. Imports only numpy and its own modules."""
