"""The assignment stage: the spec, the operations it names, the fixed inputs and the expected
outputs (with their manifest). Everything here belongs to the instructors; nothing reads a submission."""
