"""The FM track's tasks fm_1 … fm_7 (docs/design.md §4, notebooks 20–22).

Encoding (fm_1, fm_2), the pairwise term of FM eq. 1 naive and by Lemma 3.1
(fm_3, fm_4, fm_5), the FM forward (fm_6) and the FFM interaction (fm_7), with
the misconceptions of docs/design.md §5 named: missing ½, forgetting to subtract
Σv²x², summing over the wrong axis, including i = j; offsets missing.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...data.encoding import field_offsets, label_encode, one_hot
from ...ffm import ffm_pairwise
from ...fm import (
    fm_pairwise,
    fm_pairwise_fields,
    fm_pairwise_naive,
    fm_score,
    pairwise_from_embeddings,
)
from ..engine.spec import Case, ComplexityGuard, Exercise, Misconception

NB20, NB21, NB22 = "20_ctr_data_encoding", "21_fm_okn_trick", "22_fm_ffm_generalisation"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _global_idx(g: torch.Generator, B: int, dims: list[int]) -> Tensor:
    codes = torch.stack([torch.randint(0, d, (B,), generator=g) for d in dims], dim=1)  # (B, F)
    return codes + field_offsets(dims)  # (B, F)


# ---------------------------------------------------------------- fm_1 label encoding


def _rows_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def rows(B: int, vocab: list[list[str]]) -> list[list[str]]:
        return [
            [v[int(torch.randint(0, len(v), (1,), generator=g))] for v in vocab] for _ in range(B)
        ]

    shared = ["1", "2", "3", "NA"]  # the same strings in several fields: offsets keep them apart
    first = rows(8, [shared, ["a", "b", "1"], shared[:2], ["mon", "tue", "wed"]])
    first[0] = ["1", "1", "1", "mon"]  # every field present with value "1" …
    first[1] = ["NA", "a", "2", "tue"]
    return [
        Case("8 rows, 4 fields sharing strings", (first,)),
        Case("one row", (rows(1, [shared, ["x", "y"]]),)),
        Case("one field", (rows(6, [shared]),)),
        Case("a field with a single value", (rows(5, [["only"], shared, ["a", "b", "c"]]),)),
        Case(
            "Criteo-like tokens",
            (
                rows(
                    12,
                    [
                        ["SP0", "SP1", "1", "5", "21", "NA"],
                        ["05db9164", "68fd1e64", "8cf07265"],
                        shared,
                    ],
                ),
            ),
        ),
    ]


def _label_encode_no_offsets(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    idx, dims = label_encode(rows)
    return idx - field_offsets(dims), dims


def _label_encode_inclusive(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    idx, dims = label_encode(rows)
    return idx + torch.as_tensor(dims), dims  # offset_f = Σ_{g≤f}: shifted by one field


def _label_encode_from_one(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    idx, dims = label_encode(rows)
    return idx + 1, dims  # codes 1..field_dims[f] (offsets still Σ_{g<f} field_dims[g])


def _label_encode_first_seen(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    columns = list(zip(*rows))
    vocabs = [{v: c for c, v in enumerate(dict.fromkeys(col))} for col in columns]
    dims = [len(v) for v in vocabs]
    codes = torch.tensor([[vocabs[f][v] for f, v in enumerate(r)] for r in rows], dtype=torch.long)
    return codes + field_offsets(dims), dims


def _label_encode_max_code(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    columns = list(zip(*rows))
    vocabs = [{v: c for c, v in enumerate(sorted(set(col)))} for col in columns]
    dims = [max(v.values()) for v in vocabs]  # the largest code, one short of the count
    codes = torch.tensor([[vocabs[f][v] for f, v in enumerate(r)] for r in rows], dtype=torch.long)
    return codes + field_offsets(dims), dims


def _label_encode_one_vocab(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    _, dims = label_encode(rows)
    vocab = {v: c for c, v in enumerate(sorted({v for r in rows for v in r}))}
    return torch.tensor([[vocab[v] for v in r] for r in rows], dtype=torch.long), dims


# ---------------------------------------------------------------- fm_2 one-hot


def _one_hot_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    return [
        Case("5 rows, fields of sizes 3, 4, 2", (_global_idx(g, 5, [3, 4, 2]), 9)),
        Case("batch of one", (_global_idx(g, 1, [6, 2, 5, 3]), 16)),
        Case("one field", (_global_idx(g, 4, [5]), 5)),
        Case("wider than the indices used", (_global_idx(g, 3, [2, 2]), 10)),
        Case("the last row alone in its columns", (torch.tensor([[0, 3], [1, 3], [2, 4]]), 6)),
    ]


def _one_hot_repeat(idx: Tensor, n_features: int) -> Tensor:
    B, n_fields = idx.shape
    rows = torch.arange(B).repeat(n_fields)  # 0 1 … B−1 0 1 …: not row-major
    return torch.sparse_coo_tensor(
        torch.stack([rows, idx.reshape(-1)]),
        torch.ones(B * n_fields, dtype=torch.float64),
        (B, n_features),
    ).coalesce()


def _one_hot_no_size(idx: Tensor, n_features: int) -> Tensor:
    B, n_fields = idx.shape
    rows = torch.arange(B).repeat_interleave(n_fields)
    return torch.sparse_coo_tensor(
        torch.stack([rows, idx.reshape(-1)]), torch.ones(B * n_fields, dtype=torch.float64)
    ).coalesce()  # shape inferred


def _one_hot_per_field(idx: Tensor, n_features: int) -> Tensor:
    return torch.nn.functional.one_hot(idx, n_features).double().to_sparse()  # (B, F, n)


def _one_hot_transposed(idx: Tensor, n_features: int) -> Tensor:
    return one_hot(idx, n_features).t().coalesce()  # (n, B)


# ---------------------------------------------------------------- fm_3 / fm_4 pairwise term


def _pairwise_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    sparse_x = _randn(g, 4, 7) * (torch.rand(4, 7, generator=g) < 0.4)
    return [
        Case("B = 4, n = 6, k = 3", (_randn(g, 4, 6), _randn(g, 6, 3))),
        Case("batch of one", (_randn(g, 1, 5), _randn(g, 5, 2))),
        Case("n = 1 (no pair at all)", (_randn(g, 3, 1), _randn(g, 1, 2))),
        Case("k = 1", (_randn(g, 3, 4), _randn(g, 4, 1))),
        Case("x mostly zeros (a sparse row)", (sparse_x, _randn(g, 7, 3))),
        Case(
            "one-hot rows (x_i ∈ {0, 1})",
            (
                torch.eye(5, dtype=torch.float64)[[0, 2, 4]]
                + torch.eye(5, dtype=torch.float64)[[1, 3, 3]],
                _randn(g, 5, 2),
            ),
        ),
    ]


def _naive_with_diagonal(x: Tensor, V: Tensor) -> Tensor:  # Σ_{i≤j}
    xv = x.unsqueeze(2) * V  # (B, n, k)
    return torch.triu(xv @ xv.transpose(1, 2)).sum(dim=(1, 2))


def _naive_both_orders(x: Tensor, V: Tensor) -> Tensor:  # Σ_{i≠j} = 2 Σ_{i<j}
    return 2 * fm_pairwise_naive(x, V)


def _naive_all_pairs(x: Tensor, V: Tensor) -> Tensor:  # Σ_i Σ_j
    return ((x @ V) ** 2).sum(dim=1)


def _fast_no_half(x: Tensor, V: Tensor) -> Tensor:
    return ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)


def _fast_no_subtract(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2).sum(dim=1)


def _fast_plus_diagonal(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2 + (x * x) @ (V * V)).sum(dim=1)


def _fast_wrong_axis(x: Tensor, V: Tensor) -> Tensor:  # Σ over f taken before squaring
    return 0.5 * ((x @ V).sum(dim=1) ** 2 - ((x * x) @ (V * V)).sum(dim=1))


def _fast_x_not_squared(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2 - x @ (V * V)).sum(dim=1)


def _naive_no_x(x: Tensor, V: Tensor) -> Tensor:
    G = V @ V.T  # (n, n)  ⟨v_i, v_j⟩ without x_i x_j
    return torch.triu(G, diagonal=1).sum().expand(x.shape[0]).clone()


def _naive_batch_summed(x: Tensor, V: Tensor) -> Tensor:
    return fm_pairwise_naive(x, V).sum()


def _fast_mean_over_k(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).mean(dim=1)


def _fm4_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 1)
    return [Case("B = 4, n = 1000, k = 4", (_randn(g, 4, 1000), _randn(g, 1000, 4)))]


def _fm4_limit(case: Case) -> int:
    x, V = case.args
    return 4 * x.shape[0] * x.shape[1] * V.shape[1]  # O(B n k): far below n²


# ---------------------------------------------------------------- fm_5 label-encoded fields


def _fields_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    cases = []
    for name, B, dims, k in [
        ("B = 6, 4 fields, k = 3", 6, [5, 3, 4, 6], 3),
        ("batch of one", 1, [4, 4, 2], 2),
        ("one field (no pair)", 5, [7], 3),
        ("k = 1", 4, [3, 5, 2], 1),
        ("39 Criteo-like fields", 8, [3] * 39, 4),
    ]:
        cases.append(Case(name, (_global_idx(g, B, dims), _randn(g, sum(dims), k))))
    return cases


def _fields_no_half(idx: Tensor, V: Tensor) -> Tensor:
    return 2 * fm_pairwise_fields(idx, V)


def _fields_no_subtract(idx: Tensor, V: Tensor) -> Tensor:
    return 0.5 * (V[idx].sum(dim=1) ** 2).sum(dim=1)


def _fields_plus_diagonal(idx: Tensor, V: Tensor) -> Tensor:
    e = V[idx]  # (B, F, k)
    return 0.5 * (e.sum(dim=1) ** 2 + (e * e).sum(dim=1)).sum(dim=1)


def _fields_wrong_axis(
    idx: Tensor, V: Tensor
) -> Tensor:  # sums over k where Lemma 3.1 sums over fields
    e = V[idx]  # (B, F, k)
    return 0.5 * (e.sum(dim=2) ** 2 - (e * e).sum(dim=2)).sum(dim=1)


def _fields_mean_over_k(idx: Tensor, V: Tensor) -> Tensor:
    e = V[idx]
    return 0.5 * (e.sum(dim=1) ** 2 - (e * e).sum(dim=1)).mean(dim=1)


def _fields_keepdim(idx: Tensor, V: Tensor) -> Tensor:
    return fm_pairwise_fields(idx, V).unsqueeze(1)  # (B, 1)


def _fm5_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 2)
    return [
        Case("B = 16, F = 300 fields, k = 2", (_global_idx(g, 16, [2] * 300), _randn(g, 600, 2)))
    ]


def _fm5_limit(case: Case) -> int:
    idx, V = case.args
    B, F = idx.shape
    return 4 * max(B * F * V.shape[1], V.numel())  # O(B F k), no B×F×F


# ---------------------------------------------------------------- fm_6 FM forward


def _forward_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    cases = []
    for name, B, dims, k in [
        ("B = 6, 4 fields, k = 3", 6, [5, 3, 4, 6], 3),
        ("batch of one", 1, [4, 2], 2),
        ("one field", 4, [6], 2),
        ("k = 1", 5, [3, 3, 3], 1),
    ]:
        n = sum(dims)
        cases.append(
            Case(
                name, (_global_idx(g, B, dims), float(_randn(g, 1)), _randn(g, n), _randn(g, n, k))
            )
        )
    return cases


def _forward_sigmoid(idx, w0, w, V):
    return torch.sigmoid(fm_score(idx, w0, w, V))


def _forward_no_bias(idx, w0, w, V):
    return fm_score(idx, 0.0, w, V)


def _forward_no_linear(idx, w0, w, V):
    return w0 + fm_pairwise_fields(idx, V)


def _forward_no_half(idx, w0, w, V):
    return fm_score(idx, w0, w, V) + fm_pairwise_fields(idx, V)


def _forward_no_subtract(idx, w0, w, V):
    return w0 + w[idx].sum(dim=1) + _fields_no_subtract(idx, V)


def _forward_mean_over_k(idx, w0, w, V):
    return w0 + w[idx].sum(dim=1) + _fields_mean_over_k(idx, V)


def _forward_broadcast(idx, w0, w, V):
    return (
        w0 + w[idx].sum(dim=1, keepdim=True) + fm_pairwise_fields(idx, V)
    )  # (B, 1) + (B,) → (B, B)


def _forward_mean_linear(idx, w0, w, V):
    return w0 + w[idx].mean(dim=1) + fm_pairwise_fields(idx, V)


# ---------------------------------------------------------------- fm_7 FFM


def _ffm_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    cases = []
    for name, B, dims, k in [
        ("B = 5, 4 fields, k = 2", 5, [3, 4, 2, 3], 2),
        ("batch of one", 1, [2, 3, 2], 3),
        ("two fields (one pair)", 4, [3, 3], 2),
        ("one field (no pair)", 3, [4], 2),
        ("k = 1", 4, [2, 2, 3], 1),
    ]:
        cases.append(Case(name, (_global_idx(g, B, dims), _randn(g, sum(dims), len(dims), k))))
    return cases


def _ffm_terms(idx: Tensor, W: Tensor) -> Tensor:
    E = W[idx]  # (B, F, F, k)  E[b, a, c] = w_{j_a, c}
    return E


def _ffm_own_field(idx: Tensor, W: Tensor) -> Tensor:  # ⟨w_{j1,f1}, w_{j2,f2}⟩
    own = W[idx, torch.arange(idx.shape[1])]  # (B, F, k)  w_{j_f, f}
    return pairwise_from_embeddings(own)


def _ffm_same_field(idx: Tensor, W: Tensor) -> Tensor:  # ⟨w_{j1,f2}, w_{j2,f2}⟩
    E = _ffm_terms(idx, W)  # (B, F, F, k)
    own = torch.diagonal(E, dim1=1, dim2=2).transpose(1, 2)  # (B, F, k)  own[b, c] = w_{j_c, c}
    P = (E * own.unsqueeze(1)).sum(dim=3)  # (B, F, F)  P[b, a, c] = ⟨w_{j_a, c}, w_{j_c, c}⟩
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def _ffm_both_orders(idx: Tensor, W: Tensor) -> Tensor:
    return 2 * ffm_pairwise(idx, W)


def _ffm_not_swapped(idx: Tensor, W: Tensor) -> Tensor:  # ⟨w_{j1,f2}, w_{j1,f2}⟩: no transpose
    E = _ffm_terms(idx, W)  # (B, F, F, k)
    P = (E * E).sum(dim=3)  # (B, F, F)
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def _ffm_one_field_vector(idx: Tensor, W: Tensor) -> Tensor:  # field 0's vector for every pair (FM)
    return pairwise_from_embeddings(W[idx][:, :, 0])


def _ffm_with_diagonal(idx: Tensor, W: Tensor) -> Tensor:
    E = _ffm_terms(idx, W)
    diag = (torch.diagonal(E, dim1=1, dim2=2) ** 2).sum(dim=(1, 2))  # Σ_f ⟨w_{j_f,f}, w_{j_f,f}⟩
    return ffm_pairwise(idx, W) + diag


# ---------------------------------------------------------------- the specs

_FM_MISSING_HALF = (
    "you forgot the ½: (Σ_i v_{i,f} x_i)² − Σ_i v_{i,f}² x_i² counts every pair (i, j) "
    "twice, as (i, j) and (j, i); Lemma 3.1 halves it"
)
_FM_NO_SUBTRACT = (
    "you forgot to subtract Σ_i v_{i,f}² x_i²: the square of the sum keeps the "
    "diagonal i = j, which Lemma 3.1 removes"
)
_FM_PLUS_DIAG = (
    "you included i = j: the result is Σ_{i≤j}; Lemma 3.1 subtracts the diagonal "
    "Σ_i v_{i,f}² x_i² before halving (eq. 1 sums over j > i only)"
)

EXERCISES = [
    Exercise(
        task_id="fm_1",
        title="label encoding with per-field offsets",
        notebook=NB20,
        func_name="label_encode",
        reference=label_encode,
        make_cases=_rows_cases,
        outputs=("idx", "field_dims"),
        equation="label encoding: global index = offset_f + code, offset_f = Σ_{g<f} field_dims[g]",
        misconceptions=(
            Misconception(
                "no offsets",
                _label_encode_no_offsets,
                'offsets missing: every field\'s codes start at 0, so "1" in field 0 and '
                '"1" in field 1 collide on one index; add offset_f = Σ_{g<f} field_dims[g]',
            ),
            Misconception(
                "inclusive offsets",
                _label_encode_inclusive,
                "your offsets include the field's own size (Σ_{g≤f}); the first field must "
                "start at 0: offset_f = Σ_{g<f} field_dims[g]",
            ),
            Misconception(
                "codes from 1",
                _label_encode_from_one,
                "your codes start at 1; field f's codes are 0..field_dims[f]−1, so its first "
                "value is at offset_f itself (global indices 0..n−1)",
            ),
            Misconception(
                "first-seen order",
                _label_encode_first_seen,
                "you numbered each field's values in the order they first appear; the task "
                "sorts them (sorted(set(column))), so the codes do not depend on the row order",
            ),
            Misconception(
                "field_dims = max code",
                _label_encode_max_code,
                "field_dims[f] is the number of distinct values of field f (the largest code "
                "+ 1); you used the largest code, so fields overlap by one index",
            ),
            Misconception(
                "one vocabulary",
                _label_encode_one_vocab,
                "you used one vocabulary for all fields, so a string in two fields gets "
                "one index (fields collide); code each field on its own, then add offset_f",
            ),
        ),
    ),
    Exercise(
        task_id="fm_2",
        title="one-hot matrix from label codes",
        notebook=NB20,
        func_name="one_hot",
        reference=one_hot,
        make_cases=_one_hot_cases,
        equation="x_b = Σ_f e_{idx[b, f]} (one 1 per field), x ∈ R^{B×n}",
        misconceptions=(
            Misconception(
                "repeat",
                _one_hot_repeat,
                "the row indices come out as 0, 1, …, B−1, 0, 1, …: that is .repeat(F); row b "
                "holds idx[b, :], so the rows are torch.arange(B).repeat_interleave(F)",
            ),
            Misconception(
                "no size",
                _one_hot_no_size,
                "you let torch infer the shape from the indices; x is (B, n_features) even "
                "when the last features are unused: pass size=(B, n_features)",
            ),
            Misconception(
                "per field",
                _one_hot_per_field,
                "you returned one one-hot vector per field (B, F, n); FM's x has one row "
                "per example with F ones: x_b = Σ_f e_{idx[b, f]}, shape (B, n)",
            ),
            Misconception(
                "transposed",
                _one_hot_transposed,
                "you returned (n, B); rows are examples: x has shape (B, n)",
            ),
        ),
    ),
    Exercise(
        task_id="fm_3",
        title="naive pairwise term O(kn²)",
        notebook=NB21,
        func_name="fm_pairwise_naive",
        reference=fm_pairwise_naive,
        make_cases=_pairwise_cases,
        equation="eq. 1, Σ_i Σ_{j>i} ⟨v_i, v_j⟩ x_i x_j",
        differentiable=True,
        misconceptions=(
            Misconception(
                "x missing",
                _naive_no_x,
                "you summed ⟨v_i, v_j⟩ without x_i x_j; eq. 1 weights each pair by the "
                "features' values, so the result depends on the row x",
            ),
            Misconception(
                "summed over the batch",
                _naive_batch_summed,
                "you summed over the batch; return one value per example, shape (B,)",
            ),
            Misconception(
                "i = j included",
                _naive_with_diagonal,
                "you included i = j (Σ_{i≤j}); eq. 1 pairs each feature only with the "
                "ones after it, j > i",
            ),
            Misconception(
                "both orders",
                _naive_both_orders,
                "you counted each pair twice, as (i, j) and (j, i); eq. 1 sums j > i only",
            ),
            Misconception(
                "all ordered pairs",
                _naive_all_pairs,
                "you summed over all (i, j), the diagonal and both orders included; eq. 1 "
                "sums j > i only",
            ),
        ),
    ),
    Exercise(
        task_id="fm_4",
        title="the O(kn) form (Lemma 3.1)",
        notebook=NB21,
        func_name="fm_pairwise_fast",
        reference=fm_pairwise,
        make_cases=_pairwise_cases,
        equation="Lemma 3.1, ½ Σ_f [(Σ_i v_{i,f} x_i)² − Σ_i v_{i,f}² x_i²]",
        misconceptions=(
            Misconception("missing ½", _fast_no_half, _FM_MISSING_HALF),
            Misconception("no subtraction", _fast_no_subtract, _FM_NO_SUBTRACT),
            Misconception("i = j included", _fast_plus_diagonal, _FM_PLUS_DIAG),
            Misconception(
                "wrong axis",
                _fast_wrong_axis,
                "you summed over f before squaring; Lemma 3.1 squares each (Σ_i v_{i,f} x_i) "
                "on its own and then sums over f = 1..k",
            ),
            Misconception(
                "mean over k",
                _fast_mean_over_k,
                "you averaged over f = 1..k; Lemma 3.1 sums over the k latent dimensions "
                "(.sum(dim=1), not .mean)",
            ),
            Misconception(
                "x not squared",
                _fast_x_not_squared,
                "you subtracted Σ_i v_{i,f}² x_i instead of Σ_i v_{i,f}² x_i² (the two agree "
                "only for one-hot x); Lemma 3.1 squares x too",
            ),
        ),
        differentiable=True,
        guard=ComplexityGuard(
            max_numel=_fm4_limit,
            make_cases=_fm4_guard_cases,
            message=(
                "an n×n (or B×n×n) tensor was created: that is the O(kn²) double sum; "
                "Lemma 3.1 needs only x V (B, k) and x² V² (B, k)."
            ),
            max_ops=200,
            loop_message=(
                "the notebook asks for no loops: Lemma 3.1 is two matrix products, "
                "x V and (x ⊙ x)(V ⊙ V)."
            ),
        ),
    ),
    Exercise(
        task_id="fm_5",
        title="batched pairwise term over label-encoded fields",
        notebook=NB21,
        func_name="fm_pairwise_fields",
        reference=fm_pairwise_fields,
        make_cases=_fields_cases,
        equation="Lemma 3.1 with e = V[idx]: ½ Σ_f [(Σ_F e)² − Σ_F e²]",
        differentiable=True,
        misconceptions=(
            Misconception("missing ½", _fields_no_half, _FM_MISSING_HALF),
            Misconception("no subtraction", _fields_no_subtract, _FM_NO_SUBTRACT),
            Misconception("i = j included", _fields_plus_diagonal, _FM_PLUS_DIAG),
            Misconception(
                "mean over k",
                _fields_mean_over_k,
                "you averaged over f = 1..k; Lemma 3.1 sums over the k latent dimensions "
                "(.sum(dim=1), not .mean)",
            ),
            Misconception(
                "keepdim",
                _fields_keepdim,
                "your result has shape (B, 1); return one value per example, shape (B,) "
                "(sum without keepdim=True, or .squeeze(1))",
            ),
            Misconception(
                "wrong axis",
                _fields_wrong_axis,
                "you summed e = V[idx] (B, F, k) over the latent axis k; Lemma 3.1 sums over "
                "the fields (dim=1), squares, then sums over k",
            ),
        ),
        guard=ComplexityGuard(
            max_numel=_fm5_limit,
            make_cases=_fm5_guard_cases,
            message=(
                "a B×F×F tensor (all field pairs) was created: Lemma 3.1 needs only the sums "
                "over fields, (B, k)."
            ),
        ),
    ),
    Exercise(
        task_id="fm_6",
        title="FM model forward (eq. 1)",
        notebook=NB22,
        func_name="fm_forward",
        reference=fm_score,
        make_cases=_forward_cases,
        equation="eq. 1, ŷ = w0 + Σ_i w_i x_i + Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j",
        differentiable=True,
        misconceptions=(
            Misconception(
                "mean over k",
                _forward_mean_over_k,
                "your pairwise term averages over f = 1..k; Lemma 3.1 sums over the k latent "
                "dimensions (.sum(dim=1), not .mean)",
            ),
            Misconception(
                "(B,1) + (B,) broadcast",
                _forward_broadcast,
                "a (B, 1) term plus a (B,) term broadcasts to (B, B); keep every term (B,) "
                "(sum without keepdim=True)",
            ),
            Misconception(
                "mean linear term",
                _forward_mean_linear,
                "you averaged the linear term; eq. 1's Σ_i w_i x_i is the sum of the F "
                "weights w[idx] (.sum(dim=1))",
            ),
            Misconception(
                "sigmoid",
                _forward_sigmoid,
                "you applied the sigmoid; eq. 1 is the score ŷ (a logit): the logistic loss "
                "applies σ itself",
            ),
            Misconception("no bias", _forward_no_bias, "you left out the global bias w0 of eq. 1"),
            Misconception(
                "no linear term",
                _forward_no_linear,
                "you left out the linear term Σ_i w_i x_i = Σ_f w[idx_f] of eq. 1",
            ),
            Misconception("missing ½", _forward_no_half, _FM_MISSING_HALF),
            Misconception("no subtraction", _forward_no_subtract, _FM_NO_SUBTRACT),
        ),
    ),
    Exercise(
        task_id="fm_7",
        title="FFM interaction term",
        notebook=NB22,
        func_name="ffm_pairwise",
        reference=ffm_pairwise,
        make_cases=_ffm_cases,
        equation="FFM, Σ_{j1<j2} ⟨w_{j1,f2}, w_{j2,f1}⟩ x_{j1} x_{j2}",
        differentiable=True,
        misconceptions=(
            Misconception(
                "field axes not swapped",
                _ffm_not_swapped,
                "you paired E[b, f1, f2] with itself, ⟨w_{j1,f2}, w_{j1,f2}⟩; the partner is "
                "the other feature's vector for your field, E[b, f2, f1]: transpose the "
                "two field axes (E.transpose(1, 2))",
            ),
            Misconception(
                "one field's vector",
                _ffm_one_field_vector,
                "you used one field's vector W[j, 0] for every pair (that is FM); FFM picks "
                "w_{j1,f2}: the vector of j1 for the partner's field f2",
            ),
            Misconception(
                "own field",
                _ffm_own_field,
                "you used each feature's vector for its own field, ⟨w_{j1,f1}, w_{j2,f2}⟩; "
                "FFM takes the vector for the partner's field: ⟨w_{j1,f2}, w_{j2,f1}⟩",
            ),
            Misconception(
                "same field",
                _ffm_same_field,
                "you used the same field index on both sides, ⟨w_{j1,f2}, w_{j2,f2}⟩; "
                "each feature uses the other's field: ⟨w_{j1,f2}, w_{j2,f1}⟩",
            ),
            Misconception(
                "both orders",
                _ffm_both_orders,
                "you counted each field pair twice, as (f1, f2) and (f2, f1); FFM sums "
                "j1 < j2 only",
            ),
            Misconception(
                "f1 = f2 included",
                _ffm_with_diagonal,
                "you included a feature paired with itself (f1 = f2); FFM sums pairs "
                "j1 < j2 of different fields",
            ),
        ),
    ),
]
