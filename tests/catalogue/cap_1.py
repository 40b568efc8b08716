"""cap_1 feels_like: learner-written variants of the KMA wind-chill with its validity range."""

import torch

from tests.catalogue import Variant


def _wc(T, V):
    return 13.12 + 0.6215 * T - 11.37 * V**0.16 + 0.3965 * T * V**0.16


def ms_everywhere(T, wind_ms):  # forgot the unit conversion entirely
    return torch.where((T <= 10) & (wind_ms >= 4.8), _wc(T, wind_ms), T)


def ms_in_formula(T, wind_ms):  # converted for the test only
    ok = (T <= 10) & (wind_ms * 3.6 >= 4.8)
    return torch.where(ok, _wc(T, wind_ms), T)


def no_temperature_test(T, wind_ms):
    V = wind_ms * 3.6
    return torch.where(V >= 4.8, _wc(T, V), T)


def no_wind_test(T, wind_ms):
    V = wind_ms * 3.6
    return torch.where(T <= 10, _wc(T, V), T)


def formula_only(T, wind_ms):
    return _wc(T, 3.6 * wind_ms)


def strict_ten(T, wind_ms):
    V = wind_ms * 3.6
    return torch.where((T < 10) & (V >= 4.8), _wc(T, V), T)


def wrong_sign(T, wind_ms):  # + 11.37 V^0.16
    V = wind_ms * 3.6
    out = 13.12 + 0.6215 * T + 11.37 * V**0.16 + 0.3965 * T * V**0.16
    return torch.where((T <= 10) & (V >= 4.8), out, T)


def loop_version(T, wind_ms):
    out = T.clone()
    for i in range(len(T)):
        V = float(wind_ms[i]) * 3.6
        if float(T[i]) <= 10 and V >= 4.8:
            out[i] = _wc(T[i], torch.tensor(V, dtype=T.dtype))
    return out


def kmh_name_first(T, wind_ms):
    v = (wind_ms * 18 / 5).pow(0.16)  # 3.6 written as 18/5
    chill = 13.12 + 0.6215 * T - 11.37 * v + 0.3965 * T * v
    return chill.where((T <= 10.0) & (wind_ms * 18 / 5 >= 4.8), T)


WRONG = [
    Variant("wind in m/s everywhere", ms_everywhere, "V in m/s"),
    Variant("m/s inside the formula", ms_in_formula, "V in m/s in the formula"),
    Variant("no T ≤ 10 test", no_temperature_test, "applied above 10 °C"),
    Variant("no V ≥ 4.8 test", no_wind_test, "applied in calm air"),
    Variant("formula only", formula_only, "applied everywhere"),
    Variant("T < 10", strict_ten, "T < 10 strict"),
    Variant("sign of the V term", wrong_sign, "+ 11.37 V^0.16"),
]
CORRECT = [
    Variant("Python loop", loop_version),
    Variant("18/5 and Tensor.where", kmh_name_first),
]
