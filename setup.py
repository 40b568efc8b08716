"""Ship the learner notebooks inside the wheel (``recsys-course init`` copies them out).

Everything else is in pyproject.toml.  ``notebooks/`` stays at the top of the
checkout, where learners of a clone find it; the build copies its ``*.ipynb``
into ``recsys_ref/course/learner_notebooks/`` of the built package only.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE_FOLDER = Path("recsys_ref", "course", "learner_notebooks")


class BuildPyWithNotebooks(build_py):
    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "notebooks"
        notebooks = sorted(source.glob("*.ipynb"))
        if not notebooks:
            raise SystemExit(
                f"{source}: no learner notebooks to ship; run `recsys-course build` first"
            )
        target = Path(self.build_lib) / PACKAGE_FOLDER
        target.mkdir(parents=True, exist_ok=True)
        for nb in notebooks:
            self.copy_file(str(nb), str(target / nb.name))


setup(cmdclass={"build_py": BuildPyWithNotebooks})
