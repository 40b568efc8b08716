"""cap_2 cyclic_features: learner-written cyclic encodings."""

import math

import numpy as np
import torch

from tests.catalogue import Variant


def degrees(value, period):
    a = 360 * value / period
    return torch.stack([torch.sin(a), torch.cos(a)], dim=1)


def p_minus_one(value, period):
    a = 2 * math.pi * value / (period - 1)
    return torch.stack([torch.sin(a), torch.cos(a)], dim=1)


def cos_first(value, period):
    a = 2 * math.pi * value / period
    return torch.stack([torch.cos(a), torch.sin(a)], dim=1)


def plain(value, period):
    return torch.stack([value / period, value / period], dim=1)


def half_turn(value, period):
    a = math.pi * value / period
    return torch.stack([torch.sin(a), torch.cos(a)], dim=1)


def sin_only(value, period):
    return torch.sin(2 * math.pi * value / period).unsqueeze(1)


def float32(value, period):
    a = (2 * math.pi * value / period).float()
    return torch.stack([torch.sin(a), torch.cos(a)], dim=1)


def via_numpy(value, period):
    a = 2 * np.pi * value.numpy() / period
    return torch.from_numpy(np.column_stack([np.sin(a), np.cos(a)]))


def via_cat(value, period):
    a = (value / period * 2 * torch.pi).unsqueeze(-1)
    return torch.cat([a.sin(), a.cos()], dim=-1)


WRONG = [
    Variant("degrees", degrees, "degrees"),
    Variant("divides by P − 1", p_minus_one, "period P − 1"),
    Variant("cos first", cos_first, "sin and cos swapped"),
    Variant("hour / 24 twice", plain, "plain number"),
    Variant("π instead of 2π", half_turn, "half a turn"),
    Variant("sin only", sin_only, "sin only"),
    Variant("float32", float32, "dtype"),
]
CORRECT = [Variant("numpy round trip", via_numpy), Variant("cat of unsqueezed angles", via_cat)]
