"""Every Python and platform the README names installs the pinned set (resolution only).

``uv pip compile`` resolves requirements.txt for another interpreter and
platform (``--python-version/--python-platform/--only-binary :all:``) without
installing.  uv, not pip's ``--dry-run --platform``: pip evaluates environment
markers against the machine it runs on, so on Linux it demands torch's
Linux-only CUDA wheels for Windows too and fails.  The tests need uv (the
``test`` extra) and the package registry; without either (or with
RECSYS_OFFLINE=1) they skip, saying so.  The supported range is written in five places — README,
``requires-python``, the Makefile, ``doctor`` and Gradescope's ``setup.sh`` — and a test keeps
them equal.

Python 3.14 is in the range because every pin publishes cp314 wheels for the four platforms
(torch 2.13.0: manylinux_2_28 x86_64 and aarch64, macosx_14_0_arm64, win_amd64; numpy 2.4.6,
scipy 1.17.1 and matplotlib 3.11.2 likewise); ``--only-binary :all:`` below is what proves it:
a pin without a wheel for a target fails its resolution instead of falling back to a source build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
# uv's target triples; a target accepts wheels of older tags too (manylinux 2_28 → 2_17 …).
PLATFORMS = {
    "linux-x86_64": ("x86_64-manylinux_2_28", {}),
    "linux-aarch64": ("aarch64-manylinux_2_28", {}),
    "macos-arm64": ("aarch64-apple-darwin", {"MACOSX_DEPLOYMENT_TARGET": "14.0"}),
    "windows-amd64": ("x86_64-pc-windows-msvc", {}),
}
NETWORK_TROUBLE = (
    "dns error",
    "Failed to fetch",
    "error sending request",
    "Network is unreachable",
    "Connection refused",
    "operation timed out",
    "client error (Connect)",
    "Temporary failure in name resolution",
    "Name or service not known",
)

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for the module: the sixteen resolutions share their downloads."""
    return tmp_path_factory.mktemp("uv-cache")


def _uv() -> str:
    exe = Path(sys.executable).with_name("uv")
    found = str(exe) if exe.exists() else shutil.which("uv")
    if not found:
        pytest.skip("uv is not installed (pip install -e .[test]); the resolution tests use it")
    return found


def _resolve(
    python: str, target: tuple[str, dict], requirements: list[str], tmp_path: Path, cache: Path
) -> subprocess.CompletedProcess:
    """Resolve ``requirements`` (lines) for one Python and platform; skip when offline."""
    if os.environ.get("RECSYS_OFFLINE") == "1":
        pytest.skip("RECSYS_OFFLINE=1: the resolution tests need the package registry")
    platform, extra_env = target
    req = tmp_path / "requirements.in"
    req.write_text("\n".join(requirements) + "\n")
    cmd = [
        _uv(),
        "pip",
        "compile",
        str(req),
        "--python-version",
        python,
        "--python-platform",
        platform,
        "--only-binary",
        ":all:",
        "--no-header",
        "--no-annotate",
        "--quiet",
        "--no-config",
        "--cache-dir",
        str(cache),
    ]
    env = {**os.environ, **extra_env, "UV_HTTP_TIMEOUT": "60", "NO_COLOR": "1"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip("the resolution took over 15 minutes: the package registry is not reachable")
    if done.returncode != 0 and any(s in done.stdout + done.stderr for s in NETWORK_TROUBLE):
        pytest.skip(
            "the package registry is not reachable (offline): "
            + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
        )
    return done


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS, ids=PLATFORMS.keys())
@pytest.mark.parametrize("python", PYTHONS)
def test_pinned_set_resolves(python: str, platform: str, tmp_path: Path, uv_cache: Path) -> None:
    pins = _pins()
    done = _resolve(python, PLATFORMS[platform], pins, tmp_path, uv_cache)
    assert done.returncode == 0, (
        f"requirements.txt does not install on Python {python} / {platform}:\n"
        + (done.stdout + done.stderr)[-3000:]
    )
    resolved = {
        ln.split("==")[0].lower(): ln.split("==")[1]
        for ln in done.stdout.splitlines()
        if "==" in ln and not ln.startswith("#")
    }
    for pin in pins:  # every pin kept exactly (uv prints the version without a local tag)
        name, version = pin.split("==")
        assert resolved.get(name.lower(), "").split("+")[0] == version, (pin, resolved.get(name))


def _pins() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _pin(name: str) -> str:
    return next(p for p in _pins() if p.startswith(f"{name}=="))


def test_the_macos_floor_is_real(tmp_path: Path, uv_cache: Path) -> None:
    """The README's "macOS 14 or later": torch's arm64 wheel resolves for 14, not for 13."""
    platform = PLATFORMS["macos-arm64"][0]
    on_14 = _resolve(
        "3.12",
        (platform, {"MACOSX_DEPLOYMENT_TARGET": "14.0"}),
        [_pin("torch")],
        tmp_path,
        uv_cache,
    )
    assert on_14.returncode == 0, on_14.stderr[-2000:]
    on_13 = _resolve(
        "3.12",
        (platform, {"MACOSX_DEPLOYMENT_TARGET": "13.0"}),
        [_pin("torch")],
        tmp_path,
        uv_cache,
    )
    assert on_13.returncode != 0, "torch resolves for macOS 13 arm64: lower the README's floor"


@pytest.mark.parametrize("name", ["ipykernel", "numpy"])
def test_the_pins_are_why_3_10_is_not_supported(name: str, tmp_path: Path, uv_cache: Path) -> None:
    """The reasons the README gives for starting at 3.11 hold for the pinned set: ipykernel 7.4
    requires 3.11; numpy 2.4.6 requires it too and so publishes no cp310 wheel (uv, wheels only,
    says the latter)."""
    done = _resolve("3.10", PLATFORMS["linux-x86_64"], [_pin(name)], tmp_path, uv_cache)
    out = done.stdout + done.stderr
    why = "3.11" if name == "ipykernel" else f"{_pin(name)} has no usable wheels"
    assert done.returncode != 0 and why in out, out[-2000:]


def _range(text: str, pattern: str) -> tuple[str, str]:
    m = re.search(pattern, text, re.S)
    assert m, f"pattern {pattern!r} not found"
    return m.group(1), m.group(2)


@pytest.mark.filterwarnings("ignore")
def test_one_supported_range_everywhere() -> None:
    tomllib = pytest.importorskip("tomllib")
    from recsys_ref.course.doctor import SUPPORTED

    want = (PYTHONS[0], PYTHONS[-1])
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lo, hi = _range(requires, r">=(3\.\d+),<(3\.\d+)")
    assert lo == want[0] and hi == f"3.{int(want[1].split('.')[1]) + 1}", requires
    assert (
        _range((ROOT / "Makefile").read_text(), r"PY_MIN := (3\.\d+)\nPY_MAX := (3\.\d+)") == want
    )
    assert tuple(f"{a}.{b}" for a, b in SUPPORTED) == want
    readme = (ROOT / "README.md").read_text()
    assert f"Python {', '.join(PYTHONS[:-1])} or {PYTHONS[-1]}" in readme
    setup = (ROOT / "gradescope" / "setup.sh").read_text()
    assert f'supported() {{ case "$1" in {"|".join(PYTHONS)}) return 0' in setup
    assert setup.count(f"{want[0]}-{want[1]}") == 2  # the header and the message name the range
