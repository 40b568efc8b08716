"""Feels-like (perceived) temperature: the KMA wind-chill formula.

Source: Korea Meteorological Administration (기상청), 생활기상지수 · 체감온도 (winter
perceived temperature), which uses the wind-chill index adopted in 2001 by Environment
and Climate Change Canada and the US National Weather Service (JAG/TI, Osczevski &
Bluestein, BAMS 86(10), 2005):

    T_wc = 13.12 + 0.6215 T − 11.37 V^0.16 + 0.3965 T V^0.16            (wind chill)

with T the air temperature in °C and V the wind speed in **km/h** at 10 m.  The formula
is defined for T ≤ 10 °C and V ≥ 4.8 km/h (1.33 m/s; KMA states 1.3 m/s, i.e. 4.68 km/h); outside that range the perceived
temperature is the air temperature itself.  ASOS files give the wind in m/s, so
V = 3.6 · wind_ms.

Paper → code:  T → T (°C);  V → V_kmh (km/h);  wind in m/s → wind_ms;  T_wc → wind_chill
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import expect_same_size, expect_tensor

KMH_PER_MS = 3.6  # 1 m/s = 3.6 km/h
T_MAX_C = 10.0  # the formula applies at or below 10 °C …
V_MIN_KMH = 4.8  # … and at or above 4.8 km/h (1.33 m/s; KMA states 1.3 m/s = 4.68 km/h)


def wind_chill(T: Tensor, V_kmh: Tensor) -> Tensor:
    """The wind-chill formula itself, without its validity range: T (N,) °C, V_kmh (N,) km/h → (N,) °C."""
    expect_tensor("T", T, floating=True)
    expect_tensor("V_kmh", V_kmh, floating=True)
    if (V_kmh < 0).any():
        raise ValueError("wind speed must be ≥ 0")
    v16 = V_kmh.pow(0.16)  # (N,)
    return 13.12 + 0.6215 * T - 11.37 * v16 + 0.3965 * T * v16  # (N,)


def feels_like(T: Tensor, wind_ms: Tensor) -> Tensor:
    """Perceived temperature (°C): the wind chill where it is defined, the air temperature elsewhere.

    T (N,) air temperature in °C, wind_ms (N,) wind speed in m/s as ASOS reports it → (N,) °C.
    The wind is converted to km/h first (the formula's unit); the formula applies only
    where T ≤ 10 °C and V ≥ 4.8 km/h.
    """
    expect_tensor("T", T, floating=True)
    expect_tensor("wind_ms", wind_ms, floating=True)
    expect_same_size("T's shape", tuple(T.shape), "wind_ms's shape", tuple(wind_ms.shape))  # type: ignore[arg-type]
    V = wind_ms * KMH_PER_MS  # (N,) km/h
    valid = (T <= T_MAX_C) & (V >= V_MIN_KMH)  # (N,)
    return torch.where(valid, wind_chill(T, V.clamp(min=0.0)), T)  # (N,)
