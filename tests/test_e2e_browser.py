"""The course as a learner meets it: JupyterLab in a real browser.

Starts ``jupyter lab`` on 127.0.0.1 (free port, token, temporary workspace,
settings and runtime folders) on a COPY of notebooks/ and solutions/, drives
Debian's Chromium with playwright (headless), and for each notebook does what a
learner does: open it, Run → Run All Cells, wait for the kernel.  It asserts
what the learner must see:

- equations rendered by MathJax (``mjx-container`` elements, no ``mjx-merror``);
- each check cell of a stub saying "<task> not started", and Run All going
  through to the end without an error output;
- in 00_start_here: after typing the warm-up's solution into the stub cell
  *through the page* and re-running it and its check, the ✓ line, and the
  plug-in cell then using the learner's function;
- one solutions/ notebook running without an error, every check ✓.

Screenshots go to artifacts/e2e/ (their paths are printed in the summary).
``RECSYS_SCREENSHOT_DIR=docs/img pytest -m e2e -k start_here`` also writes the
README's screenshot (``jupyterlab.png``, the course map in JupyterLab).

Run it with ``pytest -m e2e`` or ``RECSYS_E2E=1`` (it is skipped otherwise, and
where Chromium or the playwright package is missing).  ``RECSYS_CHROMIUM`` overrides the browser
path (default /usr/bin/chromium); ``RECSYS_E2E_SOLUTION`` names the solutions
notebook to run (default: the first FM-track notebook, else NGCF's, else 00).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from recsys_ref.course.nbtools.notebook import cell_source, read_notebook, tags
from tests.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "e2e"
VIEWPORT = {"width": 1280, "height": 800}
README_VIEWPORT = {"width": 1600, "height": 960}

# Timeouts (ms unless named _S): generous for a loaded 2-core machine, but bounded.
SERVER_START_S = 90
OPEN_MS = 90_000  # notebook shown and its kernel idle
RUN_ALL_MS = 150_000  # one notebook's Run All (budget 45 s per solutions notebook)
CHECK_MS = 60_000

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


def _selected(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr") or ""
    return ("e2e" in expr and "not e2e" not in expr) or os.environ.get("RECSYS_E2E") == "1"


@pytest.fixture(scope="module", autouse=True)
def _requirements(request: pytest.FixtureRequest) -> None:
    if not _selected(request.config):
        pytest.skip("browser test: run it with `pytest -m e2e` (about 2 minutes)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is missing: `pip install -e '.[e2e]'`")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"no Chromium at {CHROMIUM}: `sudo apt-get install chromium` (or set RECSYS_CHROMIUM)"
        )
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("JupyterLab is missing: `pip install -e .`")


# --- the course copy and the server ---------------------------------------------------------------


def pick(folder: Path, prefix: str) -> Path | None:
    found = sorted(folder.glob(f"{prefix}*.ipynb"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of notebooks/ and solutions/: nothing in the repository is modified."""
    if not (ROOT / "notebooks" / "00_start_here.ipynb").is_file():
        pytest.skip("notebooks/00_start_here.ipynb is missing: run `recsys-course build`")
    dest = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", ".backups")
    for name in ("notebooks", "solutions"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path) -> None:
    """JupyterLab user settings for a quiet, deterministic page."""
    settings = {
        # no "get notified about Jupyter news?" toast, no update check (offline)
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        # every cell in the DOM, so outputs can be read without scrolling
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, values in settings.items():
        path = folder / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


class Lab:
    """A running JupyterLab server (ours: started, and stopped, by this test module)."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root, self.state = root, state
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log = state / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        for d in ("workspaces", "settings", "runtime", "config", "data"):
            (self.state / d).mkdir(parents=True, exist_ok=True)
        write_settings(self.state / "settings")
        env = {
            **os.environ,
            "JUPYTER_RUNTIME_DIR": str(self.state / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self.state / "config"),
            "JUPYTER_DATA_DIR": str(self.state / "data"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
            f"--LabApp.user_settings_dir={self.state / 'settings'}",
            "--LabApp.extension_manager=readonly",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_S} s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def url(self, path: str, workspace: str) -> str:
        return (
            f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/{path}"
            f"?token={self.token}"
        )

    def shutdown_kernels(self) -> None:
        try:
            for k in self.api("kernels"):
                self.api(f"kernels/{k['id']}", method="DELETE")
        except OSError:
            pass

    def stop(self) -> None:
        if self.proc is None:
            return
        self.shutdown_kernels()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the server also shuts its kernels down
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.kill_strays()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.log, ARTIFACTS / "jupyter-server.log")

    def kill_strays(self) -> None:
        """Kernels run in sessions of their own; any left holds our runtime dir in its argv."""
        runtime = str(self.state / "runtime")
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                argv = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if runtime in argv:
                try:
                    os.kill(int(proc.name), signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture(scope="module")
def lab(course: Path, tmp_path_factory: pytest.TempPathFactory):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's screenshots only
    server = Lab(course, tmp_path_factory.mktemp("jupyter-state"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture()
def page(browser, lab: Lab):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()
        lab.shutdown_kernels()  # one kernel at a time on a small machine


# --- what a learner does -------------------------------------------------------------------------

_counter = iter(range(10_000))


def open_notebook(page, lab: Lab, relpath: str) -> None:
    """Open a notebook in a fresh workspace and wait for its kernel to be idle."""
    page.goto(lab.url(relpath, f"e2e-{next(_counter)}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_MS)
    # The toolbar indicator says "idle" before any kernel is attached ("No Kernel |
    # Initializing"); a Run All then only clears the prompts.  The status bar names the kernel.
    page.wait_for_function(_KERNEL_READY_JS, timeout=OPEN_MS, polling=250)


_KERNEL_READY_JS = """() => {
  const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  const items = [...document.querySelectorAll('.jp-StatusBar-Item')].map(e => e.innerText.trim());
  return ind !== null && ind.getAttribute('data-status') === 'idle'
      && items.some(t => /\\| Idle$/.test(t) && !t.startsWith('No Kernel'));
}"""


def prompts(page) -> list[str]:
    return page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()


def run_all(page, name: str, record_property, timeout_ms: int = RUN_ALL_MS) -> float:
    """Run → Run All Cells, as a learner clicks it; returns the seconds until the kernel is done."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = prompts(page)
    t0 = time.monotonic()
    for attempt in (1, 2):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel").get_by_text(
            "Run All Cells", exact=True
        ).click()
        try:  # the run started: a prompt became [*] or a new number, or the kernel is busy
            page.wait_for_function(_STARTED_JS, arg=before, timeout=20_000, polling=200)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                shot = screenshot(page, f"{name}-RUN-ALL-DID-NOT-START", record_property)
                pytest.fail(f"{name}: Run All did not start (prompts {prompts(page)}); see {shot}")
            page.keyboard.press("Escape")
    try:
        page.wait_for_function(_DONE_JS, timeout=timeout_ms, polling=500)
    except PlaywrightTimeout:
        shot = screenshot(page, f"{name}-RUN-ALL-TIMEOUT", record_property)
        indicator = page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator").first
        pytest.fail(
            f"{name}: Run All did not finish within {timeout_ms / 1000:.0f} s "
            f"(prompts {prompts(page)}, kernel indicator "
            f"{indicator.get_attribute('data-status')!r}); see {shot} and "
            f"{ARTIFACTS / 'jupyter-server.log'}"
        )
    return time.monotonic() - t0


_STARTED_JS = """(before) => {
  const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  if (ind && ind.getAttribute('data-status') === 'busy') return true;
  const now = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
      .map(e => e.innerText);
  return now.some((p, i) => p !== before[i] && p.trim() !== '[ ]:');
}"""

# Done: the kernel is idle, no cell is queued or running ([*]), and every code cell
# with code has an execution count, or an error stopped the run (then it is reported).
_DONE_JS = """() => {
  const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  if (ind && ind.getAttribute('data-status') !== 'idle') return false;
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
  if (prompts.some(p => p.includes('*'))) return false;
  const errored = document.querySelector(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]') !== null;
  const allRun = cells.every((c, i) => {
      const code = (c.querySelector('.cm-content') || {}).textContent || '';
      return code.trim() === '' || /\\[\\d+\\]/.test(prompts[i]);
  });
  return allRun || errored;
}"""


def error_outputs(page) -> list[str]:
    """Tracebacks and error outputs (warnings and progress bars on stderr are not errors)."""
    texts = page.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    ).all_inner_texts()
    return [t[:1500] for t in texts if "Traceback" in t or re.search(r"(?m)^\w*Error\b", t)]


def cell(page, index: int):
    """The index-th cell of the open notebook (all cells are in the DOM: windowingMode none)."""
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)


def outputs(loc) -> str:
    return "\n".join(loc.locator(".jp-OutputArea-output").all_inner_texts())


def scroll_to(loc, block: str = "center") -> None:
    loc.evaluate(f"el => el.scrollIntoView({{block: '{block}'}})")
    loc.page.wait_for_timeout(300)


def run_cell(page, loc) -> None:
    """Select a cell (command mode) and run it in place, Ctrl+Enter."""
    loc.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Control+Enter")


def screenshot(page, name: str, record_property) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    record_property("screenshot", str(path.relative_to(ROOT)))
    return path


_CHECK_CALL = re.compile(r"""^check\(\s*["'](\w+)["']""", re.M)


def check_cells(nb) -> list[tuple[int, str]]:
    """(cell index, task id) of each check cell: tagged check:<id>, or calling check("<id>", ...)."""
    found = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        ids = [t[len("check:") :] for t in tags(c) if t.startswith("check:")]
        ids = ids or _CHECK_CALL.findall(cell_source(c))
        found += [(i, t) for t in dict.fromkeys(ids)]
    return found


def display_equations(nb) -> int:
    return sum(cell_source(c).count("$$") // 2 for c in nb.cells if c.cell_type == "markdown")


def assert_equations_rendered(page, nb) -> int:
    want = display_equations(nb)
    assert want > 0, "the notebook shows no display equation ($$...$$)"
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-Notebook mjx-container[display=\"true\"]').length >= n",
        arg=want,
        timeout=CHECK_MS,
    )
    bad = page.locator(".jp-Notebook mjx-merror").all_inner_texts()
    assert not bad, f"MathJax could not render: {bad}"
    return want


def learner_run_all(page, lab: Lab, course: Path, relpath: str, record_property) -> tuple:
    """Open a learner notebook, Run All, and assert the stubs' checks say 'not started'."""
    nb = read_notebook(course / relpath)
    open_notebook(page, lab, relpath)
    n_eq = assert_equations_rendered(page, nb)
    stem = Path(relpath).stem
    seconds = run_all(page, f"{stem}-learner", record_property)
    errors = error_outputs(page)
    if errors:
        screenshot(page, f"{stem}-learner-ERROR", record_property)
    assert not errors, f"{relpath}: Run All stopped on an error:\n{errors[0]}"
    checks = check_cells(nb)
    assert checks, f"{relpath} has no check cell"
    for index, task in checks:
        loc = cell(page, index)
        code = loc.locator(".cm-content").inner_text()
        assert "check(" in code or "answer(" in code, code  # a task's check, a question's answer
        assert f"{task} not started" in outputs(loc), (
            f"{relpath}: the check cell of {task} does not say 'not started':\n{outputs(loc)}"
        )
    scroll_to(cell(page, checks[0][0]))
    screenshot(page, f"{stem}-learner-run-all", record_property)
    record_property(f"run_all_seconds[{stem}]", round(seconds, 1))
    print(
        f"{relpath}: Run All {seconds:.1f} s, {n_eq} display equations, "
        f"{len(checks)} checks 'not started'"
    )
    return nb, checks


# --- the tests ------------------------------------------------------------------------------------


def test_start_here_as_a_learner(page, lab: Lab, course: Path, record_property) -> None:
    from playwright.sync_api import expect

    relpath = "notebooks/00_start_here.ipynb"
    nb, checks = learner_run_all(page, lab, course, relpath, record_property)
    # the course map (a matplotlib figure) is shown
    expect(page.locator(".jp-Notebook .jp-RenderedImage img").first).to_be_visible()

    shots = os.environ.get("RECSYS_SCREENSHOT_DIR")
    if shots:
        save_readme_screenshot(page, nb, Path(shots))

    # type the warm-up's solution into the stub, through the page
    task_cell = next(i for i, c in enumerate(nb.cells) if "task:warmup" in tags(c))
    check_cell = dict((t, i) for i, t in checks)["warmup"]
    plug_cell = next(
        i for i, c in enumerate(nb.cells) if i > check_cell and 'ready("warmup"' in cell_source(c)
    )
    stub = cell(page, task_cell)
    scroll_to(stub)
    stub.locator(".cm-line", has_text="raise NotImplementedError").click()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")  # to the end of the indentation: the line's code only
    page.keyboard.type("return U @ I.T")
    code = stub.locator(".cm-content").inner_text()
    assert "return U @ I.T" in code and "NotImplementedError" not in code, code
    page.keyboard.press("Control+Enter")  # run the exercise cell
    run_cell(page, cell(page, check_cell))
    expect(cell(page, check_cell).locator(".jp-OutputArea-output")).to_contain_text(
        "✓ warmup", timeout=CHECK_MS
    )
    run_cell(page, cell(page, plug_cell))
    expect(cell(page, plug_cell).locator(".jp-OutputArea-output").first).to_contain_text(
        "using your dot_scores", timeout=CHECK_MS
    )
    assert not error_outputs(page)
    scroll_to(cell(page, check_cell))
    screenshot(page, "00_start_here-solved", record_property)


@pytest.mark.parametrize("prefix, track", [("1", "NGCF"), ("2", "FM")])
def test_track_notebook_as_a_learner(
    page, lab: Lab, course: Path, record_property, prefix: str, track: str
) -> None:
    path = pick(course / "notebooks", prefix)
    if path is None:
        pytest.skip(f"the {track} track has no notebook in notebooks/ yet ({prefix}*.ipynb)")
    learner_run_all(page, lab, course, f"notebooks/{path.name}", record_property)


def solution_to_run(course: Path) -> Path:
    name = os.environ.get("RECSYS_E2E_SOLUTION")
    if name:
        path = course / "solutions" / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if not path.is_file():
            pytest.fail(f"RECSYS_E2E_SOLUTION={name}: no such notebook in solutions/")
        return path
    # the FM track's first notebook is the lighter one: the whole test stays within 3 minutes
    return (
        pick(course / "solutions", "2")
        or pick(course / "solutions", "1")
        or course / "solutions" / "00_start_here.ipynb"
    )


def test_solution_notebook_runs_clean(page, lab: Lab, course: Path, record_property) -> None:
    path = solution_to_run(course)
    relpath = f"solutions/{path.name}"
    nb = read_notebook(path)
    open_notebook(page, lab, relpath)
    seconds = run_all(page, f"solutions-{path.stem}", record_property)
    errors = error_outputs(page)
    if errors:
        screenshot(page, f"solutions-{path.stem}-ERROR", record_property)
    assert not errors, f"{relpath}: error output:\n{errors[0]}"
    checks = check_cells(nb)
    for index, task in checks:
        text = outputs(cell(page, index))
        assert f"✓ {task}" in text, f"{relpath}: the check of {task} did not pass:\n{text}"
    if checks:
        scroll_to(cell(page, checks[-1][0]))
    screenshot(page, f"solutions-{path.stem}-run-all", record_property)
    record_property(f"run_all_seconds[solutions/{path.stem}]", round(seconds, 1))
    print(f"{relpath}: Run All {seconds:.1f} s, {len(checks)} checks ✓")


# --- the README's screenshot -----------------------------------------------------------------------


def save_readme_screenshot(page, nb, folder: Path, max_bytes: int = 400_000) -> Path:
    """00_start_here with the course map in view, as docs/img/jupyterlab.png (< 400 KB)."""
    heading = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and "map" in cell_source(c).lower()
    )
    page.set_viewport_size(README_VIEWPORT)  # wide enough for the whole map beside the file browser
    page.wait_for_timeout(800)
    scroll_to(cell(page, heading), block="start")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "jupyterlab.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(500)
    if path.stat().st_size > max_bytes:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)
    assert path.stat().st_size <= max_bytes, f"{path} is {path.stat().st_size} bytes"
    print(f"README screenshot: {path}")
    return path
