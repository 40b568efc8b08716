"""The kernel's layers inside a grading worker: rlimits, Landlock, seccomp (docs/design.md §6).

Runs in the fork server's children only (``worker.py`` calls ``confine`` before the
learner's code): each function asks the kernel for one restriction and reports
whether it took effect, so that ``doctor`` and the grading header can say which
layers this machine has.  Bubblewrap, which builds the process's whole view of the
system, is set up by the parent (``isolation.py``); these are the layers it does
not give: limits on memory, CPU and file size, per-worker file access (Landlock)
and the system calls no worker needs (seccomp, a policy by system call name that
libseccomp compiles for this machine's architecture).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = str(Path(__file__).resolve().parents[2])  # recsys_ref/


def prctl(option: int, arg: int) -> None:  # pragma: no cover - runs in the server/worker
    import ctypes

    ctypes.CDLL(None).prctl(option, arg, 0, 0, 0)


def confine(cfg: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - runs in the worker
    """Apply the limits to this process; returns which ones took effect."""
    import resource

    applied: dict[str, Any] = {}

    def setlimit(which: int, value: int, label: str) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, hard if label != "cpu" else value + 5))
            applied[label] = value
        except (ValueError, OSError):
            applied[label] = None

    try:  # a fixed mmap threshold: every large allocation is a new mapping, counted below
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    setlimit(resource.RLIMIT_FSIZE, int(cfg["fsize"]), "fsize")
    setlimit(resource.RLIMIT_CORE, 0, "core")
    setlimit(resource.RLIMIT_CPU, int(cfg["cpu_seconds"]), "cpu")
    setlimit(resource.RLIMIT_AS, _vm_size() + int(cfg["memory_mb"]) * 2**20, "address_space")
    applied["cgroup"] = bool(cfg.get("cgroup"))  # joined its own memory.max / pids.max
    applied["landlock"] = _landlock(os.getcwd()) if cfg.get("landlock") else None
    applied["seccomp"] = _seccomp(
        bool(cfg.get("block_memfd"))
    )  # last: it also forbids raising limits
    if cfg.get("tight") and applied["address_space"]:
        _use_up_free_heap(int(cfg["memory_mb"]) * 2**20)
    return applied


def _use_up_free_heap(keep: int) -> None:  # pragma: no cover - runs in a guard worker
    """Under the tight RLIMIT_AS, allocate every free block (the fork server's heaps hold
    megabytes that an n×n tensor could reuse unseen), then give back only ``keep``
    bytes of address space and half that of heap: nothing larger can be allocated."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    most = 200_000
    addrs, sizes = (ctypes.c_void_p * most)(), (ctypes.c_size_t * most)()  # no Python objects
    reserve = libc.malloc(2 * 2**20)  # for Python itself until the give-back below
    n, size = 0, 64 * 2**20  # kept while the heap is used up (a MemoryError there would kill it)
    while size >= 4096 and n < most:
        addrs[n] = libc.malloc(size)
        if addrs[n]:
            sizes[n] = size
            n += 1
        else:
            size //= 2
    libc.free(reserve)
    mapped = heap = 0
    for i in range(n):  # glibc's chunk header: bit 1 of the size word is IS_MMAPPED
        if mapped < keep and ctypes.c_size_t.from_address((addrs[i] or 0) - 8).value & 2:
            libc.free(addrs[i])
            mapped += sizes[i]
            addrs[i] = None
    for i in range(n - 1, -1, -1):
        if heap < keep // 2 and sizes[i] < 128 * 1024 and addrs[i]:
            libc.free(addrs[i])
            heap += sizes[i]


def _vm_size() -> int:  # pragma: no cover - runs in the worker
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30


def _readable_paths() -> list[str]:  # pragma: no cover - runs in the worker
    """What a worker may read: Python and its packages, not ``recsys_ref``'s folder
    (a site-packages folder holding it is granted entry by entry) nor a checkout."""
    hidden = os.path.realpath(PACKAGE_DIR)
    out: set[str] = set()

    def add(p: str) -> None:
        real = os.path.realpath(p)
        if not os.path.exists(real) or real == hidden:
            return
        if not hidden.startswith(real.rstrip(os.sep) + os.sep):
            out.add(real)
        elif real.endswith("-packages") and os.path.isdir(real):  # not a checkout's root
            out.update(
                os.path.join(real, e) for e in os.listdir(real) if os.path.join(real, e) != hidden
            )

    for p in python_folders() + ["/usr", "/lib", "/lib64", "/bin"]:
        add(p)
    return sorted(out)


def python_folders() -> list[str]:
    """Python's prefixes and the package folders on its path (not a checkout, not tests)."""
    prefixes = [
        os.path.realpath(p)
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    ]
    folders = set(prefixes) | {os.path.dirname(os.path.realpath(sys.executable))}
    for e in sys.path:
        real = os.path.realpath(e) if e else ""
        if (
            real
            and os.path.isdir(real)
            and (real.endswith("-packages") or any(real.startswith(p + os.sep) for p in prefixes))
        ):
            folders.add(real)
    return sorted(folders)


def _landlock(workdir: str) -> int | None:  # pragma: no cover - runs in the worker
    """Landlock: read only ``_readable_paths``, write only below ``workdir``; None when unavailable."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    create, add_rule, restrict = 444, 445, 446  # the same numbers on every Linux architecture
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return None
    read = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE, READ_FILE, READ_DIR
    write = (1 << 1) | (1 << 4) | (1 << 5) | sum(1 << b for b in range(6, 13))
    if abi >= 2:
        write |= 1 << 13  # REFER
    if abi >= 3:
        write |= 1 << 14  # TRUNCATE
    fields = [read | write]
    if abi >= 4:
        fields.append((1 << 0) | (1 << 1))  # no TCP bind/connect
    if abi >= 6:
        fields.append((1 << 0) | (1 << 1))  # scoped: abstract unix sockets, signals
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    fd = libc.syscall(
        create, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0)
    )
    if fd < 0:
        return None

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    file_only = (1 << 0) | (1 << 1) | (1 << 2) | ((1 << 14) if abi >= 3 else 0)
    rules = [
        (workdir, read | write),
        ("/dev/null", file_only & (read | write)),
        ("/dev/urandom", read),
        (f"/proc/{os.getpid()}", read),
    ]
    rules += [(p, read) for p in _readable_paths()]
    try:
        for path, rights in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    rights &= file_only
                rule = PathBeneath(rights, pfd)
                if libc.syscall(add_rule, fd, 1, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    return None
            finally:
                os.close(pfd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return None
        if libc.syscall(restrict, fd, ctypes.c_uint32(0)) != 0:
            return None
    finally:
        os.close(fd)
    return int(abi)


# The system calls a worker is refused (EPERM), by name: libseccomp resolves each for this
# machine's architecture.  Sockets (socketpair stays), device nodes, file modes, owners and
# times, mounts and namespaces, tracing, reboot, kernel modules and keys, bpf, perf,
# userfaultfd, io_uring, other processes' memory; System V IPC (a segment outlives its
# worker and another learner could attach it); tkill and pidfds (signals go through kill and
# tgkill, allowed only towards the worker itself); raising a resource limit.
REFUSED = (
    "socket", "mknod", "mknodat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
    "fchown", "lchown", "fchownat", "utime", "utimes", "utimensat", "futimesat", "mount",
    "umount2", "unshare", "setns", "pivot_root", "chroot", "ptrace", "reboot", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
    "perf_event_open", "userfaultfd", "io_uring_setup", "process_vm_readv",
    "process_vm_writev", "keyctl", "add_key", "request_key", "open_tree", "move_mount",
    "fsopen", "fsmount", "mount_setattr",
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop",
    "msgget", "msgsnd", "msgrcv", "msgctl",
    "tkill", "pidfd_open", "pidfd_send_signal", "setrlimit",
)  # fmt: skip
SIGNALS = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")  # first argument: a pid
CLONE_THREAD = 0x00010000


def seccomp_module() -> Any:
    """libseccomp's Python bindings: Debian's ``seccomp`` (python3-seccomp) or PyPI's
    ``pyseccomp`` (the same API over ctypes); None when neither is installed."""
    for name in ("seccomp", "pyseccomp"):
        try:
            return __import__(name)
        except Exception:  # noqa: BLE001, S112 - ImportError; OSError: no libseccomp.so
            continue
    return None


def _seccomp(block_memfd: bool) -> bool:  # pragma: no cover - runs in the worker
    """The seccomp filter, built by name with libseccomp and installed last.

    Allowed by default; ``REFUSED`` fail with EPERM; ``fork``/``vfork`` and a
    ``clone`` without CLONE_THREAD with EAGAIN (threads still work); ``clone3``
    with ENOSYS (libc falls back to ``clone``); ``prlimit64`` setting a limit and
    ``SIGNALS`` aimed at any pid but the worker's own with EPERM; with
    ``block_memfd``, ``memfd_create`` too; system calls of another ABI with EPERM.
    """
    import errno

    sc = seccomp_module()
    if sc is None or sys.platform != "linux":
        return False
    me = os.getpid()
    try:
        f = sc.SyscallFilter(defaction=sc.ALLOW)
        f.set_attr(sc.Attr.ACT_BADARCH, sc.ERRNO(errno.EPERM))
        for name in REFUSED + (("memfd_create",) if block_memfd else ()):
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        for name in ("fork", "vfork"):
            try:
                f.add_rule(sc.ERRNO(errno.EAGAIN), name)
            except (OSError, ValueError, RuntimeError):
                pass  # not a call on this architecture (aarch64 has only clone)
        f.add_rule(sc.ERRNO(errno.EAGAIN), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        f.add_rule(sc.ERRNO(errno.EPERM), "prlimit64", sc.Arg(2, sc.NE, 0))
        for name in SIGNALS:
            f.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(0, sc.NE, me))
        f.load()  # sets PR_SET_NO_NEW_PRIVS first
    except (OSError, ValueError, RuntimeError):
        return False
    return True
