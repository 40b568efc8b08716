"""Capstone task cap_1: feels-like temperature (KMA wind chill) and its validity range.

Misconceptions: wind in m/s (in the formula, or in the test too), the formula above 10 °C or in
calm air or everywhere, T < 10 strict, the wind term's sign.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....feels_like import feels_like, wind_chill
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, f64, gen, uniform
from . import NB30


def _feels_cases(seed: int) -> list[Case]:
    g = gen(seed)
    # first case: every rule of the range shows (warm and windy, calm and cold, exactly 10 °C, 1.3–2.5 m/s)
    year = (
        torch.cat([uniform(g, 8, -15, 30), f64(15.0, -5.0, 10.0, -5.0, 0.0)]),
        torch.cat([uniform(g, 8, 0, 10), f64(5.0, 0.5, 5.0, 2.0, 1.4)]),
    )
    return [
        Case("a year of days", year),
        Case("winter days (T ≤ 10 °C, windy)", (uniform(g, 8, -20, 10), uniform(g, 8, 1.5, 12))),
        Case("mixed seasons", (uniform(g, 12, -15, 35), uniform(g, 12, 0, 10))),
        Case("warm, windy days (T > 10 °C)", (uniform(g, 6, 10.5, 30), uniform(g, 6, 3, 12))),
        Case("calm cold air (V < 4.8 km/h)", (uniform(g, 5, -15, 5), uniform(g, 5, 0, 1.2))),
        Case(
            "light wind 1.3–2.5 m/s (≥ 4.8 km/h, but < 4.8 in m/s)",
            (uniform(g, 6, -15, 5), uniform(g, 6, 1.4, 2.5)),
        ),
        Case(
            "on the boundaries (10 °C; 4.8 km/h)",
            (f64(10.0, 10.0, -5.0, 10.0), f64(5.0, 1.0, 4.8 / 3.6, 4.8 / 3.6)),
        ),
        Case("one day", (f64(-8.0), f64(3.0))),
    ]


def _feels_ms(T: Tensor, wind_ms: Tensor) -> Tensor:  # V in m/s in the formula and the threshold
    valid = (T <= 10) & (wind_ms >= 4.8)
    return torch.where(valid, wind_chill(T, wind_ms), T)


def _feels_ms_formula(
    T: Tensor, wind_ms: Tensor
) -> Tensor:  # converted for the test, not the formula
    valid = (T <= 10) & (wind_ms * 3.6 >= 4.8)
    return torch.where(valid, wind_chill(T, wind_ms), T)


def _feels_above_10(T: Tensor, wind_ms: Tensor) -> Tensor:
    V = wind_ms * 3.6
    return torch.where(V >= 4.8, wind_chill(T, V), T)


def _feels_calm(T: Tensor, wind_ms: Tensor) -> Tensor:
    return torch.where(T <= 10, wind_chill(T, wind_ms * 3.6), T)


def _feels_everywhere(T: Tensor, wind_ms: Tensor) -> Tensor:
    return wind_chill(T, wind_ms * 3.6)


def _feels_strict(T: Tensor, wind_ms: Tensor) -> Tensor:  # T < 10 instead of T ≤ 10
    V = wind_ms * 3.6
    return torch.where((T < 10) & (V >= 4.8), wind_chill(T, V), T)


def _feels_plus_wind(T: Tensor, wind_ms: Tensor) -> Tensor:  # + 11.37 V^0.16: the wind warms
    V = wind_ms * 3.6
    v = V.pow(0.16)
    return torch.where((T <= 10) & (V >= 4.8), 13.12 + 0.6215 * T + 11.37 * v + 0.3965 * T * v, T)


EXERCISES = [
    Exercise(
        task_id="cap_1",
        title="feels-like temperature (KMA wind chill) and its validity range",
        notebook=NB30,
        func_name="feels_like",
        reference=feels_like,
        make_cases=_feels_cases,
        edges=((BATCH_OF_ONE, "T:0"),),
        equation="T_wc = 13.12 + 0.6215 T − 11.37 V^0.16 + 0.3965 T V^0.16, V km/h, T ≤ 10 °C, V ≥ 4.8 km/h",
        misconceptions=(
            Misconception(
                "V in m/s",
                _feels_ms,
                "you used the wind in m/s: the formula and its 4.8 threshold are in km/h at "
                "10 m; convert first, V = 3.6 · wind_ms",
            ),
            Misconception(
                "V in m/s in the formula",
                _feels_ms_formula,
                "your validity test converts the wind but the formula gets m/s; V^0.16 needs "
                "km/h too: V = 3.6 · wind_ms",
            ),
            Misconception(
                "applied above 10 °C",
                _feels_above_10,
                "you applied the wind chill above 10 °C; it is defined for T ≤ 10 °C only, "
                "elsewhere the feels-like temperature is the air temperature",
            ),
            Misconception(
                "applied in calm air",
                _feels_calm,
                "you applied the wind chill in calm air; it is defined for V ≥ 4.8 km/h "
                "(1.3 m/s) only, below that the air temperature is returned",
            ),
            Misconception(
                "applied everywhere",
                _feels_everywhere,
                "you applied the formula everywhere; it holds only for T ≤ 10 °C and "
                "V ≥ 4.8 km/h, elsewhere return the air temperature",
            ),
            Misconception(
                "T < 10 strict",
                _feels_strict,
                "at exactly 10 °C the formula still applies: the range is T ≤ 10 °C",
            ),
            Misconception(
                "+ 11.37 V^0.16",
                _feels_plus_wind,
                "your wind term has the wrong sign: the formula subtracts 11.37 V^0.16 (wind "
                "makes it feel colder), T_wc = 13.12 + 0.6215 T − 11.37 V^0.16 + 0.3965 T V^0.16",
            ),
        ),
    ),
]
