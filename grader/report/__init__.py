"""The report stage: view models built from typed results, the feedback page and the class report
(jinja2 templates beside them), the gradebook and the terminal output. Only this stage writes
sentences for people; it imports neither judge/ nor diagnosis/."""
