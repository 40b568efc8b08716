"""The verdict as data (``recsys_ref.course.engine.verdict``).

- every catalogue variant's message, and its redacted feedback, is what the
  code before the refactor wrote (``tests/data/verdict_messages_before.json``),
  apart from the fixes listed in ``CHANGED``;
- redaction reads fields, never the sentence: rewording every literal phrase
  of every kind of message leaves the hidden values out of the feedback;
- no module of the course parses a message.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest
import torch

import recsys_ref.course as course
from recsys_ref.course import get
from recsys_ref.course.engine.evaluate import evaluate
from recsys_ref.course.engine.runner import ERROR, OK, Outcome
from recsys_ref.course.engine.verdict import Kind, Result, Status, render
from recsys_ref.course.grading.grade import redact
from tests.verdict_snapshot import SNAPSHOT, snapshot

# "task/group/variant" -> why its message changed on purpose (issue 21's fixes)
_CACHE = "no gradient reaches any input: says 'not connected', not one input's term"
_RECENCY = "a recency window, not a retention window (notebook 13 vs 31)"
_ONE_MORE = (
    "a case added (a band of one event; layers of unequal widths; a second item nobody "
    "trained on): 'on N + 1 fresh inputs'"
)
_EDGE = (
    "an edge case drawn by rule (tests/test_edges.py: the last index unused, an empty last "
    "segment): 'on N + 1 fresh inputs'"
)
CHANGED: dict[str, str] = {
    "cap_3/wrong/float codes": "dtype: whole numbers stored as floats (observed), not a guess",
    "ngcf_8/wrong/float tensors returned": "dtype: whole numbers stored as floats (observed)",
    "ngcf_8/wrong/a Python loop per triple": "the loop guard no longer claims 'per triple'",
    "ngcf_6/wrong/L2 from .item()": "no gradient to one input while others get one: names it",
    "fm_3/wrong/numpy loops": _CACHE,
    "fm_7/wrong/numpy round trip": _CACHE,
    "ngcf_3/wrong/result detached": _CACHE,
    "ngcf_5/wrong/layers detached": _CACHE,
    "warmup/wrong/.detach() at the end": _CACHE,
    # notebook 31 names the window it teaches a recency window (notebook 13's consent window
    # is the one that forces retraining): the question's feedback says so too
    "q_cap_31b/correct/lower case with a dot": _RECENCY,
    "q_cap_31b/correct/upper case": _RECENCY,
    "q_cap_31b/correct/with a parenthesis": _RECENCY,
    "q_cap_31b/wrong/C": _RECENCY,
    # an edge case added where mutation testing found none (tests/mutate.py): one more input
    "cap_5/correct/loop with NaN init": _ONE_MORE,
    "cap_5/correct/one-hot matmul": _ONE_MORE,
    "ngcf_8/correct/a dense train mask": _ONE_MORE,
    "ngcf_8/correct/torch.isin on keys, first valid by cumsum": _ONE_MORE,
    "ngcf_9/correct/logsigmoid, set_to_none, .item()": _ONE_MORE,
    "ngcf_9/correct/model.zero_grad(), train(True/False), a 0-d tensor returned": _ONE_MORE,
    # the edge rules' new cases (issue 21): every correct answer checks one more input
    "cap_6/correct/np.interp of the identity": _EDGE,
    "cap_6/correct/tent formula": _EDGE,
    "fm_5/correct/einsum": _EDGE,
    "fm_5/correct/embedding_bag sums": _EDGE,
    "fm_5/correct/loop over fields": _EDGE,
    "fm_6/correct/dense one-hot x and Lemma 3.1": _EDGE,
    "fm_6/correct/gather and einsum, w0 as a tensor": _EDGE,
    "fm_7/correct/double loop over field pairs": _EDGE,
    "fm_7/correct/einsum with a triu mask": _EDGE,
    "ngcf_2/correct/index_add degrees, uncoalesced": _EDGE,
    "ngcf_2/correct/scipy.sparse.diags": _EDGE,
    "ngcf_2/correct/sparse diagonal D times A times D": _EDGE,
    "ngcf_4/correct/CSR L, W1 distributed": _EDGE,
    "ngcf_4/correct/a short loop over the three terms": _EDGE,
    "ngcf_4/correct/torch.sparse.mm, einsum, torch.where": _EDGE,
    "ngcf_5/correct/hstack, torch.split, einsum": _EDGE,
    "ngcf_5/correct/sum of per-layer inner products": _EDGE,
}


# "task/group/variant" in the snapshot that is no longer there -> why
REMOVED: dict[str, str] = {
    "cap_5/correct/F.binary_cross_entropy": (
        "a wrong answer now: its log clamp at −100 scores a confidently wrong prediction 100, "
        "the stated clip to [1e-15, 1 − 1e-15] 34.5 (the edge case the edge rules added)"
    ),
}


def _sealed_names(before: dict[str, dict]) -> dict[str, dict]:
    """A question's named wrong answer is named by its sealed hash since issue 20 ("A" →
    "#ba07ee39"): the snapshot's names, translated; the messages are compared as they are."""
    from recsys_ref.course.engine.questions import wrong_name

    out = {}
    for key, entry in before.items():
        task, name = key.split("/")[0], entry.get("misconception")
        if task.startswith("q_") and name is not None:
            entry = dict(
                entry, misconception=wrong_name(task, name if name.isalpha() else float(name))
            )
        out[key] = entry
    return out


def test_every_catalogue_message_is_unchanged() -> None:
    before = _sealed_names(json.loads(SNAPSHOT.read_text(encoding="utf-8")))
    after = snapshot()
    assert set(before) - set(REMOVED) <= set(after)  # added variants: the catalogue test judges
    assert not set(REMOVED) & set(after), "listed as removed but still there"
    before = {k: v for k, v in before.items() if k not in REMOVED}
    changed = [
        f"{k}:\n  before {before[k]}\n  after  {after[k]}"
        for k in before
        if k not in CHANGED and before[k] != after[k]
    ]
    assert not changed, "messages that changed:\n" + "\n".join(changed)
    stale = [k for k in CHANGED if before[k] == after[k]]
    assert not stale, f"listed as changed but equal: {stale}"


def _outcome_results() -> list[Result]:
    """A failing verdict of each kind that carries a hidden value: a value
    difference (largest error and index), a raised exception, a gradient."""
    ex = get("warmup")
    cases = ex.make_cases(0)
    wants = [ex.reference(*c.args, **c.kwargs) for c in cases]
    out = []

    def nudged(w):  # one entry off: no relation to the reference names it
        w = w.clone()
        w.view(-1)[0] += 0.123456
        return w

    off = [Outcome(OK, value=nudged(w) if isinstance(w, torch.Tensor) else w) for w in wants]
    out.append(evaluate(ex, cases, off))
    secret = "ValueError: the hidden input was 0.987654 " + "9" * 1000
    out.append(evaluate(ex, cases, [Outcome(ERROR, message=secret)]))
    return out


def _reword(r: Result, fn) -> Result:
    body = r.body.map_literals(fn)
    return Result(
        r.task_id, r.status, None, r.points, r.max_points, r.misconception,
        func_name=r.func_name, body=body, kind=r.kind, case=r.case,
    )  # fmt: skip


REWORDINGS = [
    lambda s: s.upper(),
    lambda s: s.replace("largest error", "biggest gap").replace("raised", "threw"),
    lambda s: " ".join(reversed(s.split(" "))),
    lambda s: f"[{s}]",
]


@pytest.mark.parametrize("reword", range(len(REWORDINGS)))
def test_redaction_survives_any_rewording(reword: int) -> None:
    values, raised = _outcome_results()
    assert values.error is not None and values.index is not None
    assert raised.raised is not None and "0.987654" in raised.raised
    for r in (values, raised):
        plain = _reword(r, REWORDINGS[reword])
        out = redact(plain)
        assert f"{values.error:.3g}" not in out
        assert "0.987654" not in out or len(out) < 400
        assert len(out) < 1300
    out = redact(_reword(values, REWORDINGS[reword]))
    order = math.floor(math.log10(float(f"{values.error:.3g}")))
    assert f"of order 1e{order}" in out and str(values.index) not in out
    assert len(redact(_reword(raised, REWORDINGS[reword]))) < 4 * 300 + 20


def test_result_fields_and_dict() -> None:
    values, raised = _outcome_results()
    d = values.to_dict()
    for key in ("task", "status", "message", "points", "max_points", "misconception"):
        assert key in d
    assert d["status"] == "failed" and values.status == "failed" == Status.FAILED
    assert d["kind"] == Kind.GENERIC.value and d["case"] == values.case
    assert d["error"] == values.error and tuple(d["index"]) == values.index
    assert json.loads(json.dumps(d)) == d
    assert values.message.startswith(f"✗ warmup {get('warmup').func_name}: ")
    assert values.detail == render(values, head=False, notes=False)
    assert not values.detail.startswith("✗")
    raised.add_note("read the docstring")
    raised.add_flag("imported the reference")
    assert raised.message.endswith(
        " (note: read the docstring) (note: flagged for review: imported the reference)"
    )
    assert raised.flags == ["imported the reference"]


COURSE = Path(course.__file__).parent


def _parses_a_message(tree: ast.AST) -> list[str]:
    """Calls of str methods that take a sentence apart, or regexes, on ``.message`` /
    ``["message"]``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            is_message = (isinstance(target, ast.Attribute) and target.attr == "message") or (
                isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and target.slice.value == "message"
            )
            if is_message and node.func.attr in {
                "split", "rsplit", "partition", "rpartition", "find", "index", "startswith",
                "removeprefix",
            }:  # fmt: skip
                found.append(f"line {node.lineno}: .{node.func.attr} on a message")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(w in node.value for w in ("largest error (", "raised (.*)", "on the case '(")):
                found.append(f"line {node.lineno}: a pattern over a message")
    return found


def test_no_module_parses_a_message() -> None:
    bad = []
    for path in sorted(COURSE.rglob("*.py")):
        for f in _parses_a_message(ast.parse(path.read_text(encoding="utf-8"))):
            bad.append(f"{path.relative_to(COURSE)} {f}")
    assert not bad, "\n".join(bad)


def test_the_scan_finds_a_parser() -> None:
    src = 'detail = r["message"].split(": ", 1)[1]\nx = re.compile(r"raised (.*) on")\n'
    assert len(_parses_a_message(ast.parse(src))) == 2
