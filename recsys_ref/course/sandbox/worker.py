"""The worker side of the grader: the fork server and the process that runs a learner's cell.

The fork server (``server_main``) imports torch, numpy and every ``recsys_ref``
module once, then forks one worker per request and reports each one's exit;
it never runs learner code.  A worker (``_serve``) confines itself
(``confine.confine``), then answers framed requests on the pipes the parent
created: run the notebook's imports and the exercise cell in a fresh namespace,
call the function on the cases, send back the outcomes as ``codec`` bytes.
``_Watch`` records calls of the task's reference and refuses reads of the
package's sources, so the parent can flag the task for review.
"""

from __future__ import annotations

import inspect
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

from ..engine.runner import SIGNATURE, Outcome
from ..engine.spec import Case
from .confine import PACKAGE_DIR, confine, prctl
from .isolation import clean_env

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


# The TA's and instructor's commands: never imported by a notebook, and ``build`` alone
# costs the fork server ~3 s (nbformat's schema validators).
_NOT_PRELOADED = ("__main__", ".cli", ".build", ".doctor", ".grade", ".client", ".isolation")


def _preload() -> None:  # pragma: no cover - runs in the fork server
    import importlib
    import pkgutil

    import torch

    torch.set_num_threads(1)
    from ..engine import runner
    from . import codec  # noqa: F401

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
    import recsys_ref

    for info in pkgutil.walk_packages(recsys_ref.__path__, "recsys_ref."):
        if info.name.endswith(_NOT_PRELOADED):
            continue  # an instructor's tool, not something a notebook imports
        try:
            importlib.import_module(info.name)
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

    gc.collect()
    gc.freeze()  # workers' collections skip the preloaded objects (no copy-on-write of the heap)
    sock = socket.socket(fileno=cfg["sock_fd"])
    sock.send(b'{"ready": true}')
    folders: dict[int, str] = {}
    made = 0

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in folders:
                shutil.rmtree(folders.pop(pid), ignore_errors=True)
            sock.send(json.dumps({"exit": pid, "rc": os.waitstatus_to_exitcode(status)}).encode())

    while True:
        try:
            reap()
            ready, _, _ = select.select([sock], [], [], 0.05)
            if not ready:
                continue
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
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
        made += 1
        workdir = os.path.join(cfg["workroot"], f"w{made}")
        os.mkdir(workdir, 0o700)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _worker_child(dict(request, workdir=workdir), fds)
            finally:
                os._exit(1)
        folders[pid] = workdir
        for fd in fds:
            os.close(fd)
        try:
            sock.send(json.dumps({"pid": pid}).encode())
        except OSError:
            os._exit(0)


def _worker_child(cfg: dict[str, Any], fds: list[int]) -> None:  # pragma: no cover - forked worker
    req_fd, rep_fd, out_fd = fds
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

    watch = _Watch()  # before the limits: what it frees must not hide in a tight guard's heap
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
        watch.calls.clear()
        watch.task = ""
        try:
            request = codec.loads(_read_exact(req_fd, int(msg["size"])))
            watch.task = str(request["task"])
            out, body = _handle(request, watch)
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
        out["flags"] = watch.report()
        reply(out, payload)


class _Watch:  # pragma: no cover - runs in the worker
    """Records calls of the current task's reference and reads of ``recsys_ref``'s sources.

    Every function object of a ``recsys_ref`` module that is some task's
    reference (re-exports included) and every ``Exercise.reference`` of the
    registry is replaced by a wrapper naming where it was found; an audit
    hook refuses opening any file below the package folder.
    """

    def __init__(self) -> None:
        import linecache

        from ..engine.registry import all_exercises

        self.task = ""
        self.calls: list[str] = []
        linecache.clearcache()  # the server's cached sources
        refs: dict[int, tuple[Any, list[str]]] = {}
        for tid, ex in all_exercises().items():
            refs.setdefault(id(ex.reference), (ex.reference, []))[1].append(tid)
        for tid, ex in all_exercises().items():
            fn, tasks = refs[id(ex.reference)]
            object.__setattr__(
                ex, "reference", self._wrap(fn, tasks, f"registry.get({tid!r}).reference")
            )
        for name, mod in list(sys.modules.items()):
            if not name.startswith("recsys_ref") or mod is None:
                continue
            for attr, value in list(vars(mod).items()):
                if id(value) in refs and refs[id(value)][0] is value:
                    setattr(mod, attr, self._wrap(value, refs[id(value)][1], f"{name}.{attr}"))
        sys.addaudithook(self._audit)

    def _wrap(self, fn: Any, tasks: list[str], route: str) -> Any:
        watch, own = self, PACKAGE_DIR + os.sep

        def reference(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            if watch.task in tasks and not caller.startswith(own):
                where = sys._getframe(1)
                watch.calls.append(
                    f"the code called the course's reference implementation "
                    f"{getattr(fn, '__qualname__', '?')} (reached as {route}, from "
                    f"line {where.f_lineno} of {caller}); the grade is kept for the "
                    "TA to review"
                )
            return fn(*args, **kwargs)

        for a in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(reference, a, getattr(fn, a))
            except (AttributeError, TypeError):
                pass
        return reference

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        full = os.path.realpath(os.fsdecode(args[0]))
        if not full.startswith(PACKAGE_DIR + os.sep):
            return
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(
            ("<exercise", "<imports")
        ):
            frame = frame.f_back  # learner code is compiled as "<exercise cell N>"
        if frame is not None:
            self.calls.append(
                f"the code tried to read the course's source "
                f"({os.path.relpath(full, os.path.dirname(PACKAGE_DIR))}), e.g. "
                "with inspect.getsource; refused"
            )
        raise PermissionError(f"reading {os.path.basename(full)} is not allowed while grading")

    def report(self) -> list[str]:
        return list(dict.fromkeys(self.calls))[:5]


def _handle(
    request: dict[str, Any], watch: _Watch
) -> tuple[dict[str, Any], Any]:  # pragma: no cover
    """One task in the worker: exec the imports and the cell, call the function, return outcomes."""
    import builtins

    from ..engine import runner
    from . import codec

    run_cases, signature_problem = runner.run_cases, runner.signature_problem
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    for line in str(request["preamble"]).splitlines():
        try:
            exec(compile(line, "<imports of the other cells>", "exec"), ns)
        except BaseException:  # noqa: BLE001, S110 - an import the exercise may not need
            pass
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
        stand_in.__signature__ = inspect.Signature(
            [  # type: ignore[attr-defined]
                inspect.Parameter(
                    str(n), inspect._ParameterKind(int(k)), default=None if d else empty
                )
                for n, k, d in params
            ]
        )
    return stand_in
