"""The limits of a grading run, one definition each (parent side; docs/design.md §6).

The CLI's options (``grade.add_arguments``), ``client.run_tasks`` and the framing
of the worker's pipes (``framing``) all read them from here.
"""

from __future__ import annotations

TASK_TIMEOUT = 30.0  # seconds of wall-clock time per task, enforced by the parent
TOTAL_TIMEOUT = 300.0  # seconds per submission
MEMORY_MB = 3072  # address space the learner's code may add, per worker
OUTPUT_LIMIT_BYTES = 64 * 1024  # of the learner's stdout/stderr kept (never shown in feedback)
FILE_LIMIT_BYTES = 64 * 1024 * 1024  # RLIMIT_FSIZE of the worker
REPLY_LIMIT_BYTES = 48 * 1024 * 1024  # largest reply the parent reads
REPLY_STRUCTURE_BYTES = 4 * 1024 * 1024  # of it, the JSON structure (parsed into objects)
REPLY_NODES = 200_000  # entries of that structure
HEADER_LIMIT_BYTES = 1 << 16  # one reply's JSON header line
LEARNER_TEXT_LIMIT = 300  # characters of learner-chosen text in any feedback
STARTUP_TIMEOUT = 120.0  # seconds for a worker to become ready (not the learner's time)
START_TRIES = 3
GUARD_MIN_MB = 4  # headroom of a guard worker: max(this, 64 bytes x the guard's element limit)
