"""The sandbox: each learner cell runs in a confined worker; the parent alone judges.

Two sides.  The parent runs in the grader's process: ``client`` (the run loop:
prepare, ask a worker, judge), ``reply`` (a worker's reply read as untrusted
data), ``framing`` (the worker's pipes: framed messages with deadlines and byte
caps), ``forkserver`` (the fork server's client), ``limits`` (the run's
defaults), ``isolation`` (probes and the bubblewrap command line) and
``cgroup`` (a memory and pids limit per worker where the machine delegates
one).  The worker side (``worker``: the fork server and the process that runs a
cell; ``confine``: the kernel layers a worker applies to itself) runs in the
fork server and its children.  ``codec`` (the framing of values) runs on both.
Imports the engine and ``nbtools``; never ``course.grading``; the worker side
never imports the parent's modules (tests/test_layout.py).
"""
