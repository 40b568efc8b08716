"""Context-aware FM for "what to wear today": fields user × item × context, a ranker, explanations.

Rendle, *Factorization Machines*, ICDM 2010, eq. (1), on the fields of
``recsys_ref.data.outfits`` (the capstone, notebooks 30–31).  One module per job:

- ``fields``: the encoding (label codes with offsets, numeric and cyclic fields), tasks cap_2, cap_3.
- ``models``: ``ContextFM``, the hat basis (cap_6) and ``GatedFM``; the per-user offset gate
  (cap_7) and ``OffsetGatedFM``, the capstone's own model term.
- ``explain``: the logit split into its terms, top and contrastive pairs.
- ``rank``: top-K outfits per context (cap_4), ranking for a context or a day.
- ``train``: logloss by band (cap_5) and ``try_idea``.
- ``draw``: an outfit as a picture.

Every public name is importable from ``recsys_ref.context`` (and, for notebooks written
before the split, from ``recsys_ref.context_fm``).
"""

from __future__ import annotations

from .draw import draw_outfit
from .explain import contrastive_pairs, pair_contributions, top_pairs
from .fields import (
    CONTEXT_FIELDS,
    FEELS_EDGES,
    HOUR_EDGES,
    ITEM_FIELDS,
    NUMERIC_CODES,
    NUMERIC_SCALE,
    NUMERIC_STEP,
    NUMERIC_T0,
    USER_FIELDS,
    FieldLayout,
    bucketize,
    cyclic_features,
    encode,
    encode_rows,
    feels_codes,
    numeric_values,
)
from .models import ContextFM, GatedFM, OffsetGatedFM, hat_basis, offset_gate
from .rank import context_rows, rank_for_context, rank_for_day, top_k_outfits
from .train import stratified_logloss, try_idea

__all__ = [
    "CONTEXT_FIELDS",
    "FEELS_EDGES",
    "HOUR_EDGES",
    "ITEM_FIELDS",
    "NUMERIC_CODES",
    "NUMERIC_SCALE",
    "NUMERIC_STEP",
    "NUMERIC_T0",
    "USER_FIELDS",
    "ContextFM",
    "FieldLayout",
    "GatedFM",
    "OffsetGatedFM",
    "bucketize",
    "context_rows",
    "contrastive_pairs",
    "cyclic_features",
    "draw_outfit",
    "encode",
    "encode_rows",
    "feels_codes",
    "hat_basis",
    "numeric_values",
    "offset_gate",
    "pair_contributions",
    "rank_for_context",
    "rank_for_day",
    "stratified_logloss",
    "top_k_outfits",
    "top_pairs",
    "try_idea",
]
