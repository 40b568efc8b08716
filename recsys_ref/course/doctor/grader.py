"""The grader's probes, for TAs (``recsys-course doctor --grader``): which isolation layers
this machine offers.  Slower than the learner's checks (they run bubblewrap), and learners do not
grade, so ``doctor`` alone skips them.
"""

from __future__ import annotations

from .report import NOTE, Report


def check_isolation(report: Report, lay: dict | None = None) -> None:
    """Which of the grader's isolation layers this machine offers (notes: learners do not grade).

    See the sandbox package (client, isolation, confine) and INSTRUCTORS.md ("What is protected") for each layer.
    """
    from ..sandbox.isolation import describe_layers, layers, refusal

    lay = layers() if lay is None else lay
    for line in describe_layers(lay):
        report.add(
            NOTE,
            f"grader isolation: {line.removeprefix('yes ').removeprefix('NO  ')}",
            "(available)" if line.startswith("yes") else "(not available)",
        )
    if refusal(lay):
        report.add(
            NOTE,
            "grader isolation: `recsys-course grade` would refuse to run here as root",
            "(bubblewrap "
            + ("present but refused by this container" if lay.get("bwrap_refused") else "missing")
            + ", no Landlock; or pass --unsafe-no-sandbox knowingly)",
        )
