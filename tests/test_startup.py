"""No work at import: the package and ``recsys-course --help`` start without torch.

Each probe runs in a fresh interpreter (``sys.modules`` of this one has torch
already) and reports what it imported.  How long these take is measured in
``benchmarks/bench_startup.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_ref.course import cli

ROOT = Path(__file__).resolve().parents[1]


def fresh(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has after running ``code``."""
    probe = fresh(f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))")
    assert probe.returncode == 0, probe.stderr
    return set(json.loads(probe.stdout.strip().splitlines()[-1]))


def test_importing_the_course_imports_no_torch() -> None:
    modules = loaded_after("import recsys_ref.course")
    assert "torch" not in modules and "torch._dynamo" not in modules
    assert not any(m.startswith("recsys_ref.course.tasks.") for m in modules)


def test_the_public_names_import_on_first_use() -> None:
    """``from recsys_ref.course import check`` gives the function; the tasks wait for a check."""
    modules = loaded_after(
        "from recsys_ref.course import check, answer, Case, load_exercise\n"
        "assert callable(check) and callable(answer) and callable(load_exercise)\n"
        "assert check.__module__ == 'recsys_ref.course.engine.check'\n"
        "assert Case.__module__ == 'recsys_ref.course.engine.spec'"
    )
    assert "torch" in modules  # the engine compares tensors
    assert not any(m.startswith("recsys_ref.course.tasks.") for m in modules)


def test_the_first_check_warms_up_once() -> None:
    """``warm_up()`` runs on the first ``run_check`` (all tasks imported), then never again."""
    probe = fresh(
        "import sys\n"
        "import recsys_ref.course as course\n"
        "from recsys_ref.course.engine.warm import warm_up\n"
        "assert warm_up.cache_info().currsize == 0\n"
        "ex = course.get('warmup')\n"
        "assert course.run_check('warmup', ex.reference, seed=1).passed\n"
        "assert course.run_check('warmup', ex.reference, seed=2).passed\n"
        "info = warm_up.cache_info()\n"
        "print(info.misses, info.hits, 'recsys_ref.course.tasks.fm.model' in sys.modules)"
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["1", "1", "True"]


def test_help_imports_no_torch() -> None:
    """The console script's own path: ``python -m recsys_ref.course --help`` under -X importtime."""
    run = fresh(
        "import runpy, sys; sys.argv = ['recsys-course', '--help']; "
        "runpy.run_module('recsys_ref.course', run_name='__main__')",
        "-X",
        "importtime",
    )
    assert run.returncode == 0, run.stderr
    assert "grade" in run.stdout and "doctor" in run.stdout
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in run.stderr.splitlines() if "|" in ln}
    assert "recsys_ref.course.cli" in imported  # the probe sees the imports
    assert not {m for m in imported if m == "torch" or m.startswith("torch.")}


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_loads_and_takes_its_arguments(command: str, capsys) -> None:
    """Each subcommand's module imports and adds its arguments (none disappears from --help)."""
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"recsys-course {command}" in out and cli.COMMANDS[command].help in out


def test_a_broken_command_fails_loudly(monkeypatch) -> None:
    def broken():
        raise ModuleNotFoundError("No module named 'recsys_ref.course.nonesuch'")

    monkeypatch.setitem(cli.COMMANDS, "doctor", cli.Command("check the installation", broken))
    with pytest.raises(ModuleNotFoundError, match="nonesuch"):
        cli.main(["doctor"])
    assert "doctor" in cli.parser().format_help()  # still listed by --help
