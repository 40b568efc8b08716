"""Task cap_2's features in a model (notebook 30): hour and month as (sin, cos) numeric fields.

The values ``ContextFM`` multiplies each field's vector by are compared with sin/cos of the events' own
hours and months computed here with ``math`` (an independent computation); a learner's ``cyclic``
function is the one used when given.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from recsys_ref.context import ContextFM, encode
from recsys_ref.data.outfits import make_outfit_data

FIELDS = ["item", "hour_sin", "hour_cos", "month_sin", "month_cos"]


def test_cyclic_fields_carry_sin_and_cos_of_each_events_hour_and_month():
    data = make_outfit_data(500, seed=0)
    ctr, layout = encode(data, FIELDS)
    _, x = ContextFM(layout, 4, seed=0).rows_and_x(ctr.idx)  # (N, 5)
    hour = np.asarray(data.hour, dtype=np.float64)
    month = np.asarray(data.month, dtype=np.float64) - 1
    want = np.stack(
        [
            [math.sin(2 * math.pi * h / 24) for h in hour],
            [math.cos(2 * math.pi * h / 24) for h in hour],
            [math.sin(2 * math.pi * m / 12) for m in month],
            [math.cos(2 * math.pi * m / 12) for m in month],
        ],
        axis=1,
    )
    np.testing.assert_allclose(x[:, 1:].double().numpy(), want, atol=1e-6)


def test_the_learners_cyclic_function_is_the_one_used():
    data = make_outfit_data(200, seed=1)
    periods = []

    def mine(value: torch.Tensor, period: float) -> torch.Tensor:
        periods.append(period)
        return torch.stack([torch.zeros_like(value), torch.full_like(value, 0.5)], dim=1)

    _, layout = encode(data, FIELDS, cyclic=mine)
    assert sorted(periods) == [12.0, 24.0]
    assert float(layout.numeric["hour_sin"].abs().max()) == 0.0
    assert float(layout.numeric["month_cos"].min()) == 0.5
