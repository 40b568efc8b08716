"""Install the course into the running Python from its folder (the notebooks' setup cell).

Run by the first cell of every learner notebook, only when ``recsys_ref``
cannot be imported (Colab, a fresh Python): it is executed from the course
folder as plain code, so it uses the standard library only.  It installs

1. each requirement the notebooks need — the package's runtime dependencies
   and its ``notebook`` extra, read from ``ROOT/pyproject.toml`` — whose
   distribution is not installed at all, and
2. the course package from ``ROOT`` (not editable, ``--no-deps``).

A distribution that is already installed — the platform's own torch, numpy,
matplotlib, jupyter-server on Colab — is kept as it is: the ranges of
pyproject.toml are compatible ranges, so ``pip check`` stays clean.

Where the course folder is (:func:`course_places`): the current folder, every
folder above it, then each folder directly inside it (a course uploaded as a
subfolder).  The setup cell spells the same list inline (it cannot import this
file before finding it) and ``recsys-course doctor`` calls this function;
tests/test_colab_setup.py checks that the two agree.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

MARKER = "recsys_ref/course/bootstrap.py"  # a course folder holds this file


def course_places(start: Path) -> list[Path]:
    """Where a course folder is looked for, in order (the setup cell's ``_places``)."""
    return [start, *start.parents, *sorted(start.glob("*/"))]


def find_course_folder(start: Path | None = None) -> Path | None:
    """The first of :func:`course_places` that holds the course's source, else None."""
    start = Path.cwd() if start is None else start
    return next((p for p in course_places(start) if (p / MARKER).is_file()), None)


def notebook_requirements(root: Path) -> list[str]:
    """Runtime dependencies plus the ``notebook`` extra, as pyproject.toml states them."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project.get("optional-dependencies", {}).get("notebook", [])
    return [*project["dependencies"], *extra]


def missing_requirements(root: Path) -> list[str]:
    """The requirements of :func:`notebook_requirements` whose distribution is not installed."""
    missing = []
    for line in notebook_requirements(root):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(line)
    return missing


def install(root: Path) -> None:
    root = Path(root).resolve()
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    todo = missing_requirements(root)
    print(
        f"Setting up the course from {root}"
        + (f" (also installing {', '.join(todo)})" if todo else "")
        + " ...",
        flush=True,
    )
    if todo:
        subprocess.run([*pip, *todo], check=True)
    subprocess.run([*pip, "--no-deps", str(root)], check=True)
    importlib.invalidate_caches()
    import recsys_ref  # noqa: F401  (fails here, not in a later cell, if the install did not work)

    print("The course is installed; the notebook goes on as usual.")


if __name__ == "bootstrap":  # executed by the notebook's setup cell with ROOT set
    install(ROOT)  # type: ignore[name-defined]  # noqa: F821
