"""Which isolation layers this machine offers, and the bubblewrap sandbox of the fork server.

Parent side (docs/design.md §6; INSTRUCTORS.md, "What is protected"): ``layers()``
probes bubblewrap, Landlock, seccomp and a writable cgroup v2 memory controller
once per process; ``refusal()`` is the sentence that stops grading as root with
neither bubblewrap nor Landlock; ``bwrap_args()`` is the command line that starts
the fork server in new user, pid, network, ipc, uts and mount namespaces as uid
65534 with no capabilities, seeing only Python, its packages and ``recsys_ref``
(read-only), a size-limited tmpfs, and one size-limited tmpfs per worker
(``worker_slots``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .confine import PACKAGE_DIR, python_folders, seccomp_module

WORKDIR_BYTES = 256 * 1024 * 1024  # the tmpfs of the fork server's own folder (bubblewrap)
# Each worker's working folder is a tmpfs of its own (bubblewrap mounts them all at the
# start; a size limit reserves no memory): a learner who fills theirs fills no one else's.
# The fork server hands a free one to each new worker and takes it back once emptied.
SLOT_BYTES = 64 * 1024 * 1024
WORKER_SLOTS = 32  # at most two workers per grading thread run at once (the task, its guard)
UID = 65534  # nobody
SANDBOX_ROOT = "/sandbox"  # the tmpfs inside bubblewrap
BWRAP = shutil.which("bwrap") or ""

_LAYERS: dict[str, Any] | None = None


def _bwrap_works() -> str:
    """The bubblewrap binary when it can build the sandbox here, else ''."""
    return _bwrap_probe()[0]


def _bwrap_probe() -> tuple[str, str]:
    """(the binary when it builds the sandbox here, else ''; why an installed one was refused)."""
    if not BWRAP or sys.platform != "linux":
        return "", ""
    try:
        done = subprocess.run(
            bwrap_args(BWRAP) + ["/bin/true"],
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"{type(exc).__name__}: {exc}"
    if done.returncode == 0:
        return BWRAP, ""
    why = done.stderr.decode(errors="replace").strip().splitlines()
    return "", (why[-1] if why else f"exit status {done.returncode}")[:200]


def _landlock_abi() -> int | None:
    """The Landlock ABI of this kernel, None when unavailable."""
    if sys.platform != "linux":
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(abi) if abi >= 1 else None


def _cgroup_memory() -> str:
    """A writable cgroup v2 folder with the memory controller, else '' (see the header)."""
    root = Path("/sys/fs/cgroup")
    try:
        own = Path(open("/proc/self/cgroup").read().split("0::", 1)[1].split()[0])
        folder = root / own.relative_to("/")
        ok = "memory" in (folder / "cgroup.controllers").read_text().split()
        return str(folder) if ok and os.access(folder, os.W_OK) else ""
    except (OSError, IndexError, ValueError):
        return ""


def layers() -> dict[str, Any]:
    """Which isolation layers this machine offers (computed once per process)."""
    global _LAYERS
    if _LAYERS is None:
        bwrap, refused = _bwrap_probe()
        _LAYERS = {
            "bwrap": bwrap,
            "bwrap_refused": refused,  # bubblewrap installed but refused: the reason
            "landlock": _landlock_abi(),
            "cgroup_memory": _cgroup_memory(),
            "seccomp": sys.platform == "linux" and seccomp_module() is not None,
            "root": hasattr(os, "geteuid") and os.geteuid() == 0,
        }
    return _LAYERS


def refusal(lay: dict[str, Any] | None = None) -> str:
    """The sentence refusing to grade unsafely ('' when grading may go ahead)."""
    lay = layers() if lay is None else lay
    if lay["root"] and not lay["bwrap"] and not lay["landlock"]:
        return (
            "refusing to grade as root with neither bubblewrap nor Landlock: learners' code "
            "could read every submission and replace results." + _bwrap_missing(lay) + " Make "
            "bubblewrap usable, or run on a kernel with Landlock (Linux >= 5.13), "
            "or pass --unsafe-no-sandbox to grade without confinement anyway."
        )
    return ""


def _bwrap_missing(lay: dict[str, Any]) -> str:
    """Why bubblewrap is not in use: not installed, or installed and refused ('' when in use)."""
    if lay["bwrap"]:
        return ""
    if lay.get("bwrap_refused"):
        return f" (bubblewrap present but refused by this container: {lay['bwrap_refused']})"
    return " (bubblewrap missing: apt-get install bubblewrap)"


def describe_layers(lay: dict[str, Any] | None = None) -> list[str]:
    """One line per layer: available or not, and what it means."""
    lay = layers() if lay is None else lay
    yes, no = "yes", "NO "
    return [
        f"{yes if lay['bwrap'] else no} bubblewrap: namespaces, uid {UID}, no capabilities, only "
        "Python's folders visible" + _bwrap_missing(lay),
        f"{yes if lay['landlock'] else no} Landlock"
        + (
            f" ABI {lay['landlock']}: reads only Python's folders, writes only the working folder"
            if lay["landlock"]
            else ": file access not confined by the kernel (Linux >= 5.13)"
        ),
        f"{yes if lay['seccomp'] else no} seccomp"
        + (
            " (libseccomp): no processes, sockets, mknod, chmod/chown, mounts, System V "
            "IPC, signals to other processes"
            if lay["seccomp"]
            else ": not applied (install libseccomp's Python bindings: pip install pyseccomp)"
        ),
        f"{yes if lay['cgroup_memory'] else no} cgroup v2 memory controller"
        + (
            f" writable ({lay['cgroup_memory']}): each guard worker in a cgroup of its own "
            "(memory.max, memory.swap.max 0, pids.max; memfd_create allowed there), "
            "RLIMIT_AS on every worker"
            if lay["cgroup_memory"]
            else " not writable here: memory bounded per worker by RLIMIT_AS (the guard "
            "worker's free heap used up first), memfd_create blocked"
        ),
    ]


def bwrap_args(bwrap: str) -> list[str]:
    """The bubblewrap command line of the fork server (before the program)."""
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    bound: list[str] = []
    for p in sorted(set(python_folders()) | {PACKAGE_DIR}):
        if not p.startswith("/usr/") and not any(p.startswith(b + os.sep) for b in bound):
            bound.append(p)
            args += ["--ro-bind", p, p]
    mpl = mpl_config_dir()
    if os.path.isdir(mpl):
        args += ["--ro-bind", mpl, "/mplconfig"]
    args += [
        "--ro-bind-try",
        "/etc/ld.so.cache",
        "/etc/ld.so.cache",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/dev/shm",
        "--size",
        str(WORKDIR_BYTES),
        "--tmpfs",
        SANDBOX_ROOT,
    ]
    for slot in worker_slots():
        args += ["--size", str(SLOT_BYTES), "--tmpfs", slot]
    args += [
        "--chdir",
        SANDBOX_ROOT,
        "--remount-ro",
        "/dev/shm",
        "--remount-ro",
        "/",
    ]
    return args


def worker_slots() -> list[str]:
    """The mount points of the workers' own tmpfs folders inside bubblewrap."""
    return [f"{SANDBOX_ROOT}/s{i}" for i in range(WORKER_SLOTS)]


def clean_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }


def mpl_config_dir() -> str:
    """The user's matplotlib folder, so the server reuses its font cache (read-only)."""
    if os.environ.get("MPLCONFIGDIR"):
        return os.environ["MPLCONFIGDIR"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "matplotlib")
