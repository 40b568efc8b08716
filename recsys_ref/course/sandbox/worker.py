"""The worker side of the grader: the fork server and the process that runs a learner's cell.

The fork server (``server_main``) imports torch, numpy and the ``recsys_ref`` modules
of ``preloaded_modules`` once, then forks one worker per request and reports each one's exit;
it never runs learner code.  A worker (``_serve``) confines itself
(``confine.confine``), then answers framed requests on the pipes the parent
created: run the notebook's imports and the exercise cell in a fresh namespace,
call the function on the cases, send back the outcomes as ``codec`` bytes.
Before any learner code, the worker withholds the course's references and
their equivalents (``withheld.withhold``: a call raises, and the parent sees
it in the outcome) and refuses reads of the package's sources.
"""

from __future__ import annotations

import inspect
import json
import os
import select
import signal
import socket
import sys
import tempfile
from typing import Any

from ..engine.runner import SIGNATURE, Outcome
from ..engine.spec import Case
from .confine import PACKAGE_DIR, confine, prctl
from .isolation import clean_env
from .workdirs import _Folders

# Imported once by the fork server, so that the notebooks' own imports (replayed
# before each exercise cell) cost nothing in a worker.  A fixed list: the
# server never imports a module because a learner named it.
PRELOAD = (
    "numpy",
    "scipy.sparse",
    "matplotlib",
    "matplotlib.pyplot",
    "tqdm",
    "tqdm.auto",
    "sympy",
    "IPython.display",
)


# The package's modules the fork server imports, by rule: the core (every module of
# ``recsys_ref`` outside ``course``, ``data`` included) and the check engine and tasks
# that notebooks call.  Nothing of grading, the sandbox's parent side, the notebook
# tools or the TA's commands (``build`` alone costs ~3 s of nbformat's validators);
# tests/test_sandbox.py checks this list against the layout.
PRELOADED_COURSE_PACKAGES = ("recsys_ref.course.engine", "recsys_ref.course.tasks")


def preloaded_modules() -> list[str]:
    """The ``recsys_ref`` modules the fork server imports (the rule above), read from the
    package's folders: importing only the packages the rule names."""
    import pkgutil

    import recsys_ref

    names: list[str] = []
    for info in pkgutil.iter_modules(recsys_ref.__path__, "recsys_ref."):
        if info.name == "recsys_ref.course":
            continue
        names.append(info.name)
        if info.ispkg:
            names += _walk(info.name)
    for package in PRELOADED_COURSE_PACKAGES:
        names += [package, *_walk(package)]
    return names


def _walk(package: str) -> list[str]:
    import importlib
    import pkgutil

    try:
        path = importlib.import_module(package).__path__
    except Exception:  # noqa: BLE001 - a package under construction: nothing below it
        return []
    return [i.name for i in pkgutil.walk_packages(path, package + ".", onerror=lambda n: None)]


def _preload() -> None:  # pragma: no cover - runs in the fork server
    import importlib

    import torch

    torch.set_num_threads(1)
    from ..engine import runner  # noqa: F401
    from . import codec  # noqa: F401
    from .confine import seccomp_module

    seccomp_module()  # loads libseccomp here: finding it runs ldconfig, which a worker cannot

    try:
        with runner.NumelRecorder():  # the first dispatch mode in a process costs ~1 s: pay it once
            a = torch.ones(3, 2, dtype=torch.float64)  # (3, 2)
            (a @ a.T).sum()  # (3, 3)
            (a.to_sparse() @ a.T).sum()  # (3, 3)
    except Exception:  # noqa: BLE001, S110 - only a warm-up
        pass
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - optional: not installed, or fails here
            continue
    for name in preloaded_modules():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a module under construction
            continue
    from ..engine.registry import all_exercises
    from ..engine.warm import warm_up

    all_exercises()  # cached: a worker cannot list the package's folder
    warm_up()  # a first check's one-time costs (first autograd, sparse), paid before forking


def server_main(config_json: str) -> None:  # pragma: no cover - runs in the fork server
    """The fork server: preload, then fork one worker per request, kill on request, report exits."""
    cfg = json.loads(config_json)
    prctl(4, 0)  # PR_SET_DUMPABLE 0: its /proc files are not readable by the workers
    _preload()
    import gc

    from .withheld import withhold

    withhold((), spec_functions=True)  # the task specs: cases, wrong variants, oracles
    gc.collect()
    gc.freeze()  # workers' collections skip the preloaded objects (no copy-on-write of the heap)
    sock = socket.socket(fileno=cfg["sock_fd"])
    sock.send(b'{"ready": true}')
    folders = _Folders(cfg["workroot"], cfg.get("slots") or [])

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if folders.exited(pid):
                continue
            sock.send(json.dumps({"exit": pid, "rc": os.waitstatus_to_exitcode(status)}).encode())

    while True:
        try:
            reap()
            ready, _, _ = select.select([sock], [], [], 0.05)
            if not ready:
                continue
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)  # the grader is gone
        request = json.loads(msg)
        if "kill" in request:
            for fd in fds:
                os.close(fd)
            try:
                os.killpg(int(request["kill"]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
            continue
        try:
            workdir = folders.take()
        except OSError as exc:  # e.g. the shared folder is full: this start fails, not the server
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"pid": -1, "error": f"no working folder ({exc})"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _worker_child(dict(request, workdir=workdir), fds)
            finally:
                os._exit(1)
        folders.started(pid, workdir)
        for fd in fds:
            os.close(fd)
        try:
            sock.send(json.dumps({"pid": pid}).encode())
        except OSError:
            os._exit(0)


def _worker_child(cfg: dict[str, Any], fds: list[int]) -> None:  # pragma: no cover - forked worker
    req_fd, rep_fd, out_fd, *cgroup_fd = fds
    if cgroup_fd:  # before anything else: from here on every page counts in its memory.max
        cfg = dict(cfg, **_join_cgroup(cgroup_fd[0]))
    os.setsid()
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: dies with the server
    prctl(4, 0)  # PR_SET_DUMPABLE 0: no other worker reads its /proc files
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(cfg["workdir"])
    os.environ.clear()
    os.environ.update(clean_env(cfg["workdir"]))
    tempfile.tempdir = None
    _serve(cfg, req_fd, rep_fd)


def _join_cgroup(fd: int) -> dict[str, Any]:  # pragma: no cover - forked worker
    """Write this worker's pid into its cgroup's ``cgroup.procs`` (opened by the parent);
    when that fails, the memfd block and the tight heap apply as without a cgroup."""
    try:
        os.write(fd, str(os.getpid()).encode())
        joined = True
    except OSError:
        joined = False
    finally:
        os.close(fd)
    return {"cgroup": joined, "block_memfd": not joined}


def _read_exact(fd: int, n: int) -> bytes:  # pragma: no cover - runs in the worker
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(1 << 20, n - got))
        if not chunk:
            os._exit(0)
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _serve(cfg: dict[str, Any], req_fd: int, rep_fd: int) -> None:  # pragma: no cover - worker
    from . import codec
    from .withheld import withhold

    withhold(cfg.get("withhold", ()), spec_functions=False)  # the server withheld the specs
    _refuse_package_sources()
    if cfg.get("tight"):
        import gc

        gc.collect()  # the server froze its own objects: this visits only the worker's
    limits = confine(cfg)
    req = os.fdopen(req_fd, "rb", buffering=0)

    def reply(msg: dict[str, Any], payload: bytes = b"") -> None:
        data = json.dumps(dict(msg, size=len(payload))).encode() + b"\n" + payload
        view = memoryview(data)
        while view:
            view = view[os.write(rep_fd, view) :]

    reply({"ready": True, "limits": limits})
    while True:
        line = b""
        while not line.endswith(b"\n"):
            c = req.read(1)
            if not c:
                os._exit(0)
            line += c
        msg = json.loads(line)
        payload = b""
        try:
            request = codec.loads(_read_exact(req_fd, int(msg["size"])))
            out, body = _handle(request)
            if body is not None:
                try:
                    payload = codec.dumps(body, "the outputs")
                except (codec.CodecError, OSError, MemoryError) as exc:
                    out = {"status": "undecodable", "message": f"{type(exc).__name__}: {exc}"[:500]}
        except SystemExit:
            out = {"status": "exit", "where": "while running the function"}
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            out = {"status": "worker_error", "message": f"{type(exc).__name__}: {exc}"[:500]}
        out["id"] = msg["id"]
        reply(out, payload)


def _refuse_package_sources() -> None:  # pragma: no cover - runs in the worker
    """An audit hook refusing to open files below ``recsys_ref``'s folder (Landlock, where
    the kernel has it, refuses them anyway: this is the layer for kernels without it)."""
    import linecache

    linecache.clearcache()  # the server's cached sources
    own = PACKAGE_DIR + os.sep

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        full = os.path.realpath(os.fsdecode(args[0]))
        if full.startswith(own):
            raise PermissionError(f"reading {os.path.basename(full)} is not allowed while grading")

    sys.addaudithook(audit)


def _handle(request: dict[str, Any]) -> tuple[dict[str, Any], Any]:  # pragma: no cover
    """One task in the worker: exec the imports and the cell, call the function, return outcomes."""
    import builtins

    from ..engine import runner
    from . import codec
    from .withheld import OWN

    run_cases, signature_problem = runner.run_cases, runner.signature_problem

    def fresh() -> dict[str, Any]:
        ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        for line in str(request["preamble"]).splitlines():
            try:
                exec(compile(line, "<imports of the other cells>", "exec"), ns)
            except BaseException:  # noqa: BLE001, S110 - an import the exercise may not need
                pass
        return ns

    OWN.clear()
    for key, code, func_name, cell in request.get("given", ()):
        own = fresh()  # the learner's own helper from an earlier task of this notebook
        try:
            exec(compile(code, f"<exercise cell {int(cell) + 1}>", "exec"), own)
        except BaseException:  # noqa: BLE001, S110 - that task's verdict says why
            pass
        if callable(own.get(func_name)):
            OWN[str(key)] = own[func_name]
    ns = fresh()
    name = request["func_name"]
    cell_error = ""
    try:
        exec(compile(request["code"], f"<exercise cell {request['cell'] + 1}>", "exec"), ns)
    except SystemExit:
        return {"status": "exit", "where": "while the exercise cell ran"}, None
    except BaseException as exc:  # noqa: BLE001
        cell_error = f"{type(exc).__name__}: {exc}{runner._learner_frame(exc)}"[:500]
        if not callable(ns.get(name)):
            return {"status": "cell_error", "cell_error": cell_error}, None
    fn = ns.get(name)
    if fn is None:
        return {"status": "no_function"}, None

    cases = [Case.from_plain(c) for c in request["cases"]]
    problem = signature_problem(fn, _stand_in(request["signature"]), name)
    record = bool(request.get("record"))
    outcomes = (
        [Outcome(SIGNATURE, message=problem)]
        if problem
        else run_cases(
            fn,
            cases,
            record=record,
            numel_limits=request.get("limits"),
            ops_limit=request.get("ops_limit"),
        )
    )

    def plain(o: Outcome) -> dict[str, Any]:
        d = o.to_plain(with_value=True)  # value, gradients, op count, creating op
        try:
            codec.encode(d.get("value"), "the output")
            codec.encode(d.get("grads"), "the gradients")
        except codec.CodecError as exc:
            return {
                "kind": SIGNATURE,
                "message": f"returned something that cannot be graded: {exc}"[:1000],
            }
        return d

    return {"status": "ran", "cell_error": cell_error}, {
        "outcomes": [plain(o) for o in outcomes],
        "cell_error": cell_error,
    }


def _stand_in(params: list[list[Any]] | None) -> Any:  # pragma: no cover - runs in the worker
    """A callable with the reference's signature, for ``runner.signature_problem``."""

    def stand_in(*args: Any, **kwargs: Any) -> None:
        return None

    if params is not None:
        empty = inspect.Parameter.empty
        stand_in.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    str(n), inspect._ParameterKind(int(k)), default=None if d else empty
                )
                for n, k, d in params
            ]
        )
    return stand_in
