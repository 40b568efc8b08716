"""The sandbox: each learner cell runs in a confined worker; the parent alone judges.

Two sides.  The parent (``client``: the fork server's client and the judge;
``isolation``: probes and the bubblewrap command line) runs in the grader's
process.  The worker side (``worker``: the fork server and the process that runs
a cell; ``confine``: the kernel layers a worker applies to itself) runs in the
fork server and its children.  ``codec`` (the framing of values) runs on both.
Imports the engine and ``nbtools``; never ``course.grading`` (tests/test_layout.py).
"""
