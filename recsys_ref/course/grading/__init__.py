"""Grading: a class's submissions (``recsys-course grade``) and a learner's ``progress``.

Runs in the parent process only (the TA's or the learner's shell), never in a
kernel or a worker.  Imports the engine, ``nbtools`` and ``sandbox.client``;
nothing imports it except the command line (tests/test_layout.py).
"""
