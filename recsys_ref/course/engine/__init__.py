"""The check engine: specs, the registry, running cases, judging them, ``check()``, questions.

Runs in the learner's kernel, in the grader's parent process and in the sandbox's
workers.  Imports the core (``recsys_ref``) and ``course.tasks`` (through the registry);
never ``course.nbtools``, ``course.grading`` or ``course.sandbox``
(tests/test_layout.py).
"""
