"""Install the course into the running Python from its folder (the notebooks' setup cell).

Run by the first cell of every learner notebook, only when ``recsys_ref``
cannot be imported (Colab, a fresh Python): it is executed from the course
folder as plain code, so it uses the standard library only.  It installs

1. the course package from ``ROOT`` (not editable, ``--no-deps``), and
2. each pinned requirement whose distribution is not installed at all.

A distribution that is already installed — the platform's own torch, numpy,
matplotlib on Colab — is kept as it is, whatever its version.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path


def missing_requirements(root: Path) -> list[str]:
    """The pinned requirements of ``root/requirements.txt`` that are not installed at all."""
    missing = []
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
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
    install(ROOT)  # noqa: F821
