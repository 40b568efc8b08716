"""The start track (notebook 00_start_here): ``scores`` (the warm-up task, eq. 10) and ``questions``."""

NB00 = "00_start_here"
