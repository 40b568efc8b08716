"""Notebook tooling: reading notebooks, build, clean, the course map, the learner's workspace.

Runs in the author's and the learner's shell (``recsys-course build``, ``init``,
``refresh``), in the grader's parent (reading submissions) and, for
``load_exercise`` and the course map, in the learner's kernel.  Imports the
engine; never ``course.grading`` or ``course.sandbox`` (tests/test_layout.py).
"""
