"""The grader's sandbox against hostile submissions, one test per fault class (issue 9).

Every submission is written here as a learner would write it.  Most attacks are
built so that the function returns the right answer only when every attempt was
refused: "passed" then means "nothing got through", and a leak would show as a
failure.  INSTRUCTORS.md ("What is protected") names these tests.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from recsys_ref.course.engine import evaluate as ev
from recsys_ref.course.engine.evaluate import CRASHED, FAILED, PASSED
from recsys_ref.course.engine.questions import question, seal, wrong_name
from recsys_ref.course.engine.registry import all_exercises, get
from recsys_ref.course.engine.runner import OK, Outcome
from recsys_ref.course.grading import grade
from recsys_ref.course.sandbox import client as sandbox
from recsys_ref.course.sandbox import isolation
from tests.exercise_notebook import write

ROOT = Path(__file__).resolve().parents[1]
GOOD = "import torch\n\n\ndef dot_scores(U, I):\n    return U @ I.T\n"
FAST = (
    "import torch\n\n\ndef fm_pairwise_fast(x, V):\n"
    "    return 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)\n"
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's layers are Linux's")


def only_if_refused(attempts: str) -> str:
    """A warmup cell that is right only when every line of ``attempts`` raised."""
    body = "".join(
        f"    try:\n        {line}\n        got.append({line!r})\n"
        f"    except BaseException:\n        pass\n"
        for line in attempts.strip().splitlines()
    )
    return (
        "import os, socket, glob, ctypes\nimport torch\n\n\ndef dot_scores(U, I):\n"
        f"    got = []\n{body}"
        "    if got:\n        raise RuntimeError('GOT THROUGH: ' + ' | '.join(got))\n"
        "    return U @ I.T\n"
    )


def one(path: Path, task: str = "warmup", **kw):
    (r,) = sandbox.run_tasks(path, [task], seed=kw.pop("seed", 7), **kw)
    return r


@pytest.fixture(scope="module")
def lay() -> dict:
    return isolation.layers()


def need(lay: dict, *names: str) -> None:
    missing = [n for n in names if not lay.get(n)]
    if missing:
        pytest.skip(f"this machine lacks {missing}")


def grade_cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    return grade.run(parser.parse_args([str(a) for a in argv]))


# ---------------------------------------------------------------- 1. the parent's I/O


def test_planted_links_fifos_and_forged_replies_are_not_followed(tmp_path):
    """The parent reads only its own pipes: links and FIFOs in the worker's folder change
    nothing, and a forged reply announcing 1 TB ends that task in bounded time."""
    victim = tmp_path / "victim.json"
    victim.write_text('{"score": 1}')
    before = hashlib.sha256(victim.read_bytes()).hexdigest()
    plant = (
        "import os\nfor n in ('in1.npz', 'out1.npz', 'in2.npz', 'out2.npz', '.io'):\n"
        f"    for f in (lambda: os.symlink({str(victim)!r}, n), lambda: os.mkfifo(n + '.f'),\n"
        "              lambda: os.symlink('/dev/zero', n + '.z')):\n"
        "        try:\n            f()\n        except OSError:\n            pass\n"
    )
    planted = write(tmp_path / "planted.ipynb", ("warmup", plant + GOOD))
    forged = write(
        tmp_path / "forged.ipynb",
        (
            "warmup",
            (
                "import os, stat\nimport torch\n\n\ndef dot_scores(U, I):\n"
                "    for fd in range(3, 64):\n        try:\n"
                "            if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
                '                os.write(fd, b\'{"id": 1, "status": "ran", "size": 1000000000000}\\n\')\n'
                "        except OSError:\n            pass\n"
                "    return U @ I.T\n"
            ),
        ),
    )
    start = time.monotonic()
    assert one(planted).status == PASSED
    r = one(forged, task_timeout=5.0)
    assert time.monotonic() - start < 60
    assert r.status in (CRASHED, PASSED, FAILED) and "GOT" not in r.message
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == before


def test_a_reply_that_cannot_be_decoded_fails_only_that_task(tmp_path):
    """A sparse tensor with out-of-range indices is refused by the codec in the parent."""
    bad = (
        "import torch\n\n\ndef dot_scores(U, I):\n"
        "    i = torch.tensor([[0, 10**6], [0, 10**6]])\n"
        "    return torch.sparse_coo_tensor(i, torch.ones(2, dtype=U.dtype), (U.shape[0], I.shape[0]),"
        " check_invariants=False)\n"
    )
    twin = dataclasses.replace(get("warmup"), task_id="warmup_twin", func_name="twin_scores")
    path = write(
        tmp_path / "two.ipynb",
        ("warmup", bad),
        ("warmup_twin", GOOD.replace("dot_scores", "twin_scores")),
    )
    table = {**all_exercises(), "warmup_twin": twin}
    orig = sandbox.get
    sandbox.get = lambda t: table[t]
    try:
        first, second = sandbox.run_tasks(path, ["warmup", "warmup_twin"], seed=3)
    finally:
        sandbox.get = orig
    assert first.status == FAILED and "cannot be compared" in first.message, first.message
    assert second.status == PASSED


# ---------------------------------------------------------------- 2. answers of another kind


def _strict() -> bool:
    want = torch.ones(2, 2, dtype=torch.float64)
    return ev.difference(np.ones((2, 2), bool), want, 1e-6, 1e-8) is not None


KINDS = {  # the answer's kind → a warmup function returning it
    "bool": "return (U @ I.T) * 0 == 0",
    "float32": "return (U @ I.T).float()",
    "numpy": "return (U @ I.T).numpy()",
    "str": "import numpy as np\n    return np.full((U.shape[0], I.shape[0]), 'x')",
    "scalar": "return float((U @ I.T).sum())",
}


def test_answers_of_another_kind_fail_only_that_task(tmp_path):
    """Each wrong kind fails warmup; the fm_4 cell of the same notebook keeps its point;
    the run writes every results.json and exits 0."""
    subs = []
    for kind, body in KINDS.items():
        subs.append(
            write(
                tmp_path / "class" / f"{kind}.ipynb",
                ("warmup", f"import torch\n\n\ndef dot_scores(U, I):\n    {body}\n"),
                ("fm_4", FAST),
            )
        )
    out = tmp_path / "out"
    assert grade_cli(*subs, "--out", out, "--tasks", "warmup,fm_4", "--quiet", "--seed", 5) == 0
    for kind in KINDS:
        tests = {
            t["name"].split(":")[0]: t
            for t in json.loads((out / kind / "results.json").read_text())["tests"]
        }
        assert tests["fm_4"]["score"] == 1, (kind, tests["fm_4"]["output"])
        if kind in ("bool", "float32", "numpy", "scalar") and not _strict():
            continue  # the strict comparison of the kind is the checks branch's (evaluate.py)
        assert tests["warmup"]["score"] == 0 and "[failed]" in tests["warmup"]["output"], kind


# ---------------------------------------------------------------- 3. privileges


def test_secrets_and_other_processes_are_unreadable(tmp_path, monkeypatch, lay):
    need(lay, "bwrap")
    monkeypatch.setenv("RECSYS_PLANTED_TOKEN", "tok-51423")
    code = only_if_refused(
        """
open('/etc/shadow').read()
open('/etc/passwd').read()
[p for p in glob.glob('/proc/[0-9]*/environ') if b'tok-51423' in open(p, 'rb').read()][0]
[p for p in glob.glob('/proc/[0-9]*/cmdline') if b'pytest' in open(p, 'rb').read()][0]
[p for p in glob.glob('/proc/[0-9]*/environ') if p != '/proc/self/environ' and open(p, 'rb').read() and not p.startswith(f'/proc/{os.getpid()}/')][0]
open(SOLUTION).read()
os.listdir(TMP)
""".replace("SOLUTION", repr(str(ROOT / "solutions" / "00_start_here.ipynb"))).replace(
            "TMP", repr(str(tmp_path))
        )
    )
    r = one(write(tmp_path / "peek.ipynb", ("warmup", code)))
    assert r.status == PASSED, r.message


def test_network_sockets_are_refused(tmp_path, lay):
    need(lay, "seccomp")
    code = only_if_refused("""
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect('/tmp/.X11-unix/X0')
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
socket.create_connection(('127.0.0.1', 22), timeout=1)
""")
    assert one(write(tmp_path / "net.ipynb", ("warmup", code))).status == PASSED


def test_chmod_chown_utime_mknod_reboot_are_refused(tmp_path, lay):
    need(lay, "seccomp")
    code = only_if_refused("""
os.chmod(os.__file__, 0o4777)
os.chown(os.__file__, 0, 0)
os.utime(os.__file__, (0, 0))
open('mine', 'w').close() or os.chmod('mine', 0o4755)
os.mknod('kmsg', 0o600 | 0o020000, os.makedev(1, 11))
os.mkfifo('fifo')
ctypes.CDLL(None, use_errno=True).reboot(0) == 0 or ctypes.get_errno() != 1 or (_ for _ in ()).throw(OSError())
""")
    stat = os.stat(os.__file__)
    assert one(write(tmp_path / "chmod.ipynb", ("warmup", code))).status == PASSED
    assert os.stat(os.__file__) == stat


def test_memfd_and_disk_fill_are_bounded(tmp_path, lay):
    need(lay, "bwrap", "seccomp")
    code = (
        "import os\nimport torch\n\n\ndef dot_scores(U, I):\n"
        "    try:\n        os.memfd_create('hog')\n        raise RuntimeError('memfd GOT THROUGH')\n"
        "    except OSError:\n        pass\n"
        "    written, block = 0, b'x' * 2**20\n"
        "    for n in range(1000):\n        try:\n"
        "            with open(f'fill{n}', 'wb') as f:\n"
        "                for _ in range(60):\n                    f.write(block)\n"
        "                    written += len(block)\n"
        "        except OSError:\n            break\n"
        f"    if written > {isolation.WORKDIR_BYTES}:\n"
        "        raise RuntimeError(f'wrote {written} bytes')\n"
        "    return U @ I.T\n"
    )
    start = time.monotonic()
    r = one(write(tmp_path / "fill.ipynb", ("warmup", code)), task_timeout=60)
    assert r.status == PASSED, r.message
    assert time.monotonic() - start < 60


def test_sigkill_of_the_grader_leaves_no_worker(tmp_path):
    nb = write(
        tmp_path / "sleep.ipynb",
        ("warmup", "import time\n\n\ndef dot_scores(U, I):\n    time.sleep(300)\n"),
    )
    script = (
        "import sys\nfrom recsys_ref.course.sandbox import client as sandbox\n"
        f"sandbox.run_tasks({str(nb)!r}, ['warmup'], seed=1, task_timeout=300)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(ROOT))
    )

    def tree(root: int) -> set[int]:
        kids: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                kids.setdefault(ppid, []).append(int(d))
        out, todo = set(), [root]
        while todo:
            p = todo.pop()
            out.add(p)
            todo += kids.get(p, [])
        return out - {root}

    deadline = time.monotonic() + 240
    seen: set[int] = set()
    while time.monotonic() < deadline and len(seen) < 3:  # bwrap, its init, server, worker
        seen = tree(proc.pid)
        time.sleep(0.5)
    time.sleep(3)
    seen = tree(proc.pid)
    assert len(seen) >= 3, "the worker did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(3)
    alive = [
        p
        for p in seen
        if os.path.exists(f"/proc/{p}")
        and open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    ]
    assert not alive, alive


def test_seccomp_refuses_the_same_calls_by_name_on_both_architectures():
    """The policy names system calls; libseccomp resolves every name on x86_64 and on
    aarch64 (only the legacy calls aarch64 never had, whose *at forms are refused too, are
    x86_64's alone): no number table is kept by hand."""
    from recsys_ref.course.sandbox import confine

    sc = confine.seccomp_module()
    if sc is None:
        pytest.skip("libseccomp's Python bindings are not installed (pip install pyseccomp)")
    legacy = {"chmod", "chown", "lchown", "mknod", "utime", "utimes", "futimesat"}
    legacy |= {"fork", "vfork"}
    names = set(confine.REFUSED) | set(confine.SIGNALS) | {"clone", "clone3", "prlimit64"}
    for arch in (sc.Arch.X86_64, sc.Arch.AARCH64):
        unknown = {n for n in names | legacy if sc.resolve_syscall(arch, n) < 0}
        assert unknown == (legacy if arch == sc.Arch.AARCH64 else set()), (arch, unknown)
    ipc = {"shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop"}
    ipc |= {"msgget", "msgsnd", "msgrcv", "msgctl"}
    assert ipc | {"tkill", "pidfd_open", "pidfd_send_signal", "setrlimit"} <= set(confine.REFUSED)
    assert {"socket", "mknodat", "fchmodat", "reboot", "kexec_load", "init_module"} <= set(
        confine.REFUSED
    )


# ---------------------------------------------------------------- 5. the complexity guard


GUARD_BYPASSES = {  # naive O(n²) fm_4, each hiding the n×n matrix from the size recorder
    "numpy": "    P = torch.from_numpy(V.detach().numpy() @ V.detach().numpy().T)\n",
    "thread": (
        "    import threading\n    box = []\n"
        "    t = threading.Thread(target=lambda: box.append(V @ V.T))\n"
        "    t.start()\n    t.join()\n    P = box[0]\n"
    ),
    "disabled_dispatch": "    with torch._C._DisableTorchDispatch():\n        P = V @ V.T\n",
    "gc_reset": (
        "    import gc\n    P = V @ V.T\n"
        "    for o in gc.get_objects():\n"
        "        if type(o).__name__ == 'NumelRecorder':\n"
        "            o.max_numel, o.largest = 0, ()\n"
    ),
    "recorder_replaced": (  # the recorder's class patched to count nothing, then n×n
        "    import sys\n"
        "    rec = sys.modules['recsys_ref.course.engine.runner'].NumelRecorder\n"
        "    rec.__torch_dispatch__ = lambda self, f, t, a=(), k=None: f(*a, **(k or {}))\n"
        "    P = V @ V.T\n"
    ),
    "numpy_loop": (  # the n×n matrix built row by row in numpy: no torch op at all
        "    import numpy as np\n    W = V.detach().numpy()\n"
        "    P = torch.from_numpy(np.stack([W @ W[i] for i in range(W.shape[0])]))\n"
    ),
    "unmapped_address_space": (  # reserved (PROT_NONE) mappings given back to fit n×n
        "    import ctypes\n    libc = ctypes.CDLL(None)\n"
        "    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]\n"
        "    try:\n        lines = open('/proc/self/maps').read().splitlines()\n"
        "    except OSError:\n        lines = []\n"
        "    for line in lines:\n        f = line.split()\n"
        "        lo, hi = (int(v, 16) for v in f[0].split('-'))\n"
        "        if f[1] == '---p' and len(f) < 6 and hi - lo >= 2**20:\n"
        "            libc.munmap(lo, hi - lo)\n"
        "    W = V.detach().numpy()\n    P = torch.from_numpy(W @ W.T)\n"
    ),
    "ops_counter_off": (  # the op bound's counter held at zero by a thread that resets it
        "    import gc\n    rec = [o for o in gc.get_objects() "
        "if type(o).__name__ == 'NumelRecorder']\n"
        "    for o in rec:\n        o.numel_limit = o.ops_limit = None\n"
        "    P = V @ V.T\n"
    ),
}
HARMFUL_HERE = {"recorder_replaced", "unmapped_address_space"}
# The value comes from the hidden n×n product; the gradient from the O(kn) form (a
# determined cheat passes the gradient case too), so only the guard can stop it.
NAIVE_TAIL = (
    "    pair = ((x @ P) * x).sum(dim=1)\n"
    "    naive = 0.5 * (pair - (x * x) @ (V * V).sum(dim=1))\n"
    "    fast = 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)\n"
    "    return fast + (naive - fast).detach()\n"
)


@pytest.mark.parametrize("name", list(GUARD_BYPASSES))
def test_guard_bypasses_get_no_points(tmp_path, name):
    code = "import torch\n\n\ndef fm_pairwise_fast(x, V):\n" + GUARD_BYPASSES[name] + NAIVE_TAIL
    ns: dict = {}
    here = code  # a real cheat: right on every input (the attacks on this process's own
    if name in HARMFUL_HERE:  # recorder or address space are checked without the attack)
        here = "import torch\n\n\ndef fm_pairwise_fast(x, V):\n    P = V @ V.T\n" + NAIVE_TAIL
    exec(here, ns)
    ex = get("fm_4")
    for c in ex.make_cases(1) + ex.guard.make_cases(1):
        assert torch.allclose(ns["fm_pairwise_fast"](*c.args), ex.reference(*c.args))
    r = one(write(tmp_path / f"{name}.ipynb", ("fm_4", code)), "fm_4")
    assert r.status == FAILED and r.points == 0, r.message
    assert "large case" in r.message or "n×n" in r.message, r.message


def test_the_in_place_check_is_labelled_advice(tmp_path):
    """Measured in the worker (a cell could hide it), so its feedback says so."""
    code = "import torch\n\n\ndef dot_scores(U, I):\n    out = U @ I.T\n    U.zero_()\n    return out\n"
    r = one(write(tmp_path / "inplace.ipynb", ("warmup", code)))
    assert r.status == FAILED and "in place" in r.message, r.message
    assert "advice" in r.message and "inside the process that ran your code" in r.message


def test_honest_fast_solution_passes_the_tight_guard(tmp_path):
    r = one(write(tmp_path / "fast.ipynb", ("fm_4", FAST)), "fm_4")
    assert r.status == PASSED and "flagged" not in r.message, r.message


def _guard_outputs_compared() -> bool:
    ex = get("fm_4")
    cases, guard = ex.make_cases(1), ex.guard.make_cases(1)
    ok = [Outcome(OK, value=ex.reference(*c.args)) for c in cases]
    zeros = [Outcome(OK, value=torch.zeros(c.args[0].shape[0], dtype=torch.float64)) for c in guard]
    return ev.evaluate(ex, cases, ok, guard, zeros).status == FAILED


def test_zeros_on_the_guard_case_get_no_points(tmp_path):
    """The guard case's values travel back; judging them is evaluate's (checks branch)."""
    if not _guard_outputs_compared():
        pytest.skip("evaluate does not compare guard outputs yet (the checks branch does)")
    code = (
        "import torch\n\n\ndef fm_pairwise_fast(x, V):\n"
        "    if x.shape[1] >= 1000:\n        return torch.zeros(x.shape[0], dtype=x.dtype)\n"
        "    P = V @ V.T\n" + NAIVE_TAIL
    )
    r = one(write(tmp_path / "zeros.ipynb", ("fm_4", code)), "fm_4")
    assert r.status == FAILED and r.points == 0, r.message


# ---------------------------------------------------------------- 6. calls of the reference


ROUTES = {
    "import_module": (
        "import importlib\n",
        "importlib.import_module('recsys_' + 'ref.fm').fm_pairwise",
    ),
    "dunder_import": ("", "__import__('recsys_ref.fm', fromlist=['x']).fm_pairwise"),
    "registry": ("from recsys_ref.course.engine.registry import get\n", "get('fm_4').reference"),
    "globals": ("from recsys_ref.fm import fm_pairwise as _p\n", "globals()['_' + 'p']"),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_reference_calls_are_refused_and_get_no_points(tmp_path, route):
    """The reference is withheld in the worker (``withheld``): every route reaches a stub
    that raises, the parent sees the refusal in the outcome (tests/test_grade_withheld.py
    has the closure, heap-walk, compile() and reply-record routes)."""
    head, expr = ROUTES[route]
    code = f"import torch\n{head}\n\ndef fm_pairwise_fast(x, V):\n    return ({expr})(x, V)\n"
    r = one(write(tmp_path / f"{route}.ipynb", ("fm_4", code)), "fm_4")
    assert r.status != PASSED and r.points == 0, r.message
    assert "not available while grading" in r.message, r.message


def test_reading_the_reference_source_is_refused(tmp_path):
    code = (
        "import inspect\nimport torch\nimport recsys_ref.fm as _fm\n\n\n"
        "def fm_pairwise_fast(x, V):\n    ns = {}\n"
        "    exec(inspect.getsource(_fm), ns)\n    return ns['fm_pairwise'](x, V)\n"
    )
    r = one(write(tmp_path / "source.ipynb", ("fm_4", code)), "fm_4")
    assert r.status != PASSED and r.points == 0, r.message


# ---------------------------------------------------------------- 7. names and layouts


def test_colliding_names_each_get_their_own_folder_and_row(tmp_path):
    c = tmp_path / "c"
    good, stub = (
        ("warmup", GOOD),
        ("warmup", "def dot_scores(U, I):\n    raise NotImplementedError\n"),
    )
    subs = [
        write(c / "x.ipynb", good),
        write(c / "x-2.ipynb", stub),
        write(c / "a" / "x.ipynb", stub),
        write(c / "b" / "a" / "x.ipynb", good),
        write(c / "c" / "a" / "x.ipynb", stub),
        write(c / "class.csv.ipynb", good),
        write(c / "X.ipynb", stub),
    ]
    learner = c / "copies"  # JupyterLab's -Copy1 (finished) beside the exact name (stub)
    write(learner / "00_start_here-Copy1.ipynb", good)
    write(learner / "00_start_here.ipynb", stub)
    linker = c / "linker"  # a link to a classmate's finished notebook
    linker.mkdir()
    (linker / "00_start_here.ipynb").symlink_to(subs[0])
    meta = write(c / "meta.ipynb", good)  # metadata naming another notebook: no new tasks
    nb = nbformat.read(meta, as_version=4)
    nb.metadata["recsys_course"] = {"notebook": "21_fm_okn_trick"}
    nbformat.write(nb, meta)
    subs += [learner, linker, meta]
    out = tmp_path / "out"
    assert grade_cli(*subs, "--out", out, "--tasks", "warmup", "--quiet", "--seed", 2) == 0
    rows = list(csv.reader(open(out / "class.csv", encoding="utf-8")))
    assert rows[0] == ["submission", "warmup", "total"]
    names = [r[0] for r in rows[1:]]
    assert len(names) == len(subs) == len({n.casefold() for n in names})
    assert "class.csv" not in names
    sources = {json.loads((out / n / "grading.json").read_text())["submission"]: n for n in names}
    assert sorted(sources) == sorted(str(s) for s in subs)
    score = {str(s): float(next(r for r in rows if r[0] == sources[str(s)])[1]) for s in subs}
    assert [score[str(s)] for s in subs[:7]] == [1, 0, 0, 1, 0, 1, 0]
    copies = json.loads((out / sources[str(learner)] / "grading.json").read_text())["tasks"][0]
    assert score[str(learner)] == 0 and "00_start_here-Copy1.ipynb" in copies["message"]
    assert score[str(linker)] == 0
    assert (
        "symbolic link"
        in json.loads((out / sources[str(linker)] / "results.json").read_text())["output"]
    )


def test_default_task_list_is_the_registry_not_metadata():
    assert grade.parse_tasks(None) == list(all_exercises())
    assert grade.parse_tasks("00_start_here") == [
        t for t, ex in all_exercises().items() if ex.notebook == "00_start_here"
    ]
    with pytest.raises(grade.GradeError):
        grade.parse_tasks("nope")


# ---------------------------------------------------------------- 8. feedback hygiene


def test_ansi_escapes_are_stripped_and_learner_text_cut(tmp_path):
    code = (
        "def dot_scores(U, I):\n"
        "    raise ValueError('\\x1b[2J\\x1b[1;1H\\x1b]0;owned\\x07\\r' + 'A' * 1000)\n"
    )
    out = tmp_path / "out"
    sub = write(tmp_path / "ansi.ipynb", ("warmup", code))
    assert grade_cli(sub, "--out", out, "--tasks", "warmup", "--quiet", "--seed", 1) == 0
    msg = json.loads((out / "ansi" / "results.json").read_text())["tests"][0]["output"]
    assert "\x1b" not in msg and "\r" not in msg and "\x07" not in msg
    assert "A" * 300 not in msg + "A" and msg.count("A") <= 300 + 10, msg
    line = grade.table("ansi\x1b[31m", [grade.Result("warmup", FAILED, "\x1b[2Jx\x1b[0m", 0, 1)])
    assert "\x1b" not in line


# ---------------------------------------------------------------- 9. refusing the unsafe mode


def test_refuses_as_root_without_bubblewrap_and_landlock(tmp_path, monkeypatch):
    """Both layers made to fail (no bwrap binary, no Landlock syscall): refused unless
    --unsafe-no-sandbox, which is then written into every row and class.csv's header."""
    monkeypatch.setattr(isolation, "BWRAP", "/nonexistent/bwrap")
    monkeypatch.setattr(isolation, "_landlock_abi", lambda: None)
    monkeypatch.setattr(isolation, "_LAYERS", None)
    monkeypatch.setattr(sandbox._ForkServer, "_instance", None)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert not isolation.layers()["bwrap"] and not isolation.layers()["landlock"]
    sub = write(tmp_path / "x.ipynb", ("warmup", GOOD))
    assert grade_cli(sub, "--out", tmp_path / "o", "--tasks", "warmup", "--quiet") == 2
    assert not (tmp_path / "o" / "x").exists()
    assert (
        grade_cli(
            sub, "--out", tmp_path / "o", "--tasks", "warmup", "--quiet", "--unsafe-no-sandbox"
        )
        == 0
    )
    header = next(csv.reader(open(tmp_path / "o" / "class.csv")))
    assert "UNSAFE" in header[0]
    (test,) = json.loads((tmp_path / "o" / "x" / "results.json").read_text())["tests"]
    assert "UNSAFE" in test["output"] and test["score"] == 1
    sandbox._ForkServer._instance.stop()


def test_allowed_with_either_layer():
    base = {"bwrap": "", "landlock": None, "cgroup_memory": "", "seccomp": True, "root": True}
    assert isolation.refusal(base)
    assert not isolation.refusal({**base, "bwrap": "/usr/bin/bwrap"})
    assert not isolation.refusal({**base, "landlock": 3})
    assert not isolation.refusal({**base, "root": False})
    assert any("cgroup" in line for line in isolation.describe_layers(base))


# ---------------------------------------------------------------- robustness


def test_a_worker_that_fails_to_start_is_retried(tmp_path, monkeypatch):
    real, calls = sandbox._Worker.__init__, []

    def flaky(self, **kw):
        calls.append(1)
        if len(calls) <= 2:
            raise sandbox.SandboxError("the grading worker did not start (simulated)")
        real(self, **kw)

    monkeypatch.setattr(sandbox._Worker, "__init__", flaky)
    monkeypatch.setattr(sandbox.time, "sleep", lambda s: None)
    assert one(write(tmp_path / "x.ipynb", ("warmup", GOOD))).status == PASSED
    assert len(calls) == 3


def test_exit_3_only_when_no_worker_can_ever_start(tmp_path, monkeypatch):
    sub = write(tmp_path / "x.ipynb", ("warmup", GOOD))
    real = sandbox._Worker.__init__
    state = {"started": 0}

    def after_first(self, **kw):  # the header's probe starts, every later one fails
        if state["started"]:
            raise sandbox.SandboxError("the grading worker did not start (simulated)")
        state["started"] += 1
        real(self, **kw)

    monkeypatch.setattr(sandbox.time, "sleep", lambda s: None)
    monkeypatch.setattr(sandbox._Worker, "__init__", after_first)
    assert grade_cli(sub, "--out", tmp_path / "o", "--tasks", "warmup", "--quiet") == 0
    data = json.loads((tmp_path / "o" / "x" / "grading.json").read_text())
    assert data["incomplete"] and "could not start a worker" in data["tasks"][0]["message"]

    def never(self, **kw):
        raise sandbox.SandboxError("the grading worker did not start (simulated)")

    monkeypatch.setattr(sandbox._Worker, "__init__", never)
    assert grade_cli(sub, "--out", tmp_path / "o2", "--tasks", "warmup", "--quiet") == 3


# ---------------------------------------------------------------- concept questions


def test_a_concept_question_is_graded_like_a_task(tmp_path, monkeypatch):
    q = question(
        "q_test_01a",
        "00_start_here",
        "which layer",
        seal("q_test_01a", "B"),
        "B is right because …",
        choices="ABC",
        wrong={seal("q_test_01a", "A"): "A is the input layer."},
    )
    table = {**all_exercises(), q.task_id: q}
    monkeypatch.setattr(sandbox, "get", lambda t: table[t])
    path = write(tmp_path / "q.ipynb", (q.task_id, 'def q_test_01a():\n    return "b"\n'))
    wrong = write(tmp_path / "w.ipynb", (q.task_id, 'def q_test_01a():\n    return "A"\n'))
    assert one(path, q.task_id).status == PASSED
    r = one(wrong, q.task_id)
    named = wrong_name("q_test_01a", "A")
    assert r.status == FAILED and r.misconception == named and "input layer" in r.message


def test_doctor_reports_the_isolation_layers():
    from recsys_ref.course import doctor

    report = doctor.Report()
    bare = {"bwrap": "", "landlock": None, "cgroup_memory": "", "seccomp": False, "root": True}
    doctor.check_isolation(report, bare)
    text = doctor.format_report(report)
    for layer in ("bubblewrap", "Landlock", "seccomp", "cgroup v2"):
        assert any(layer in f.title and "not available" in f.detail for f in report.findings), text
    assert "would refuse" in text and not report.problems
    report = doctor.Report()
    doctor.check_isolation(report, {**bare, "bwrap": "/usr/bin/bwrap", "landlock": 7})
    assert sum("(available)" == f.detail for f in report.findings) == 2


# ---------------------------------------------------------------- the fork server's preload


def test_the_fork_server_preloads_by_rule_and_the_rule_matches_the_layout():
    """The fork server imports the core (``data`` included), the engine and the tasks,
    nothing else: the list ``worker.preloaded_modules`` reads from the package equals
    the modules the layout puts there (every ``.py`` file, read from the folders), and
    no module of grading, the sandbox, the notebook tools or the commands is in it."""
    from recsys_ref.course.sandbox import worker

    root = Path(worker.__file__).resolve().parents[3]
    package = root / "recsys_ref"

    def name(path: Path) -> str:
        parts = list(path.relative_to(root).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    files = {name(p) for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    core = {m for m in files if not (m + ".").startswith("recsys_ref.course.")}
    course = {
        m
        for m in files
        for pkg in worker.PRELOADED_COURSE_PACKAGES
        if m == pkg or m.startswith(pkg + ".")
    }
    preloaded = set(worker.preloaded_modules())
    assert preloaded == (core | course) - {"recsys_ref"}
    assert {"recsys_ref.fm", "recsys_ref.data.loaders", "recsys_ref.course.engine.check"} <= (
        preloaded
    )
    for never in ("grading", "sandbox", "nbtools", "cli", "doctor", "__main__"):
        assert not any(m.startswith(f"recsys_ref.course.{never}") for m in preloaded), never
