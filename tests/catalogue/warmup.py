"""Mistake catalogue of warmup (dot_scores, NGCF eq. 10)."""

import torch
import torch.nn.functional as F

from tests.catalogue import Variant


def cosine(U, I):
    return F.normalize(U, dim=1) @ F.normalize(I, dim=1).T


def items_by_users(U, I):
    return I @ U.T


def sigmoid_scores(U, I):
    return torch.sigmoid(U @ I.T)


def product_of_sums(U, I):
    return U.sum(dim=1, keepdim=True) * I.sum(dim=1)


def through_numpy(U, I):
    return U.numpy() @ I.numpy().T


def float32(U, I):
    return U.float() @ I.float().T


def detached(U, I):
    return (U @ I.T).detach()


def nested_lists(U, I):
    return [[float(u @ i) for i in I] for u in U]


WRONG = [
    Variant("cosine similarity", cosine, "cosine"),
    Variant("items × users", items_by_users, "transposed"),
    Variant("sigmoid of the scores", sigmoid_scores, "sigmoid"),
    Variant("product of the sums", product_of_sums, "sums"),
    Variant("numpy matrix product", through_numpy, "container"),
    Variant("float32", float32, "dtype"),
    Variant(".detach() at the end", detached, "no_gradient"),
    Variant("nested Python lists", nested_lists, "container"),
]


def einsum(U, I):
    return torch.einsum("ud,id->ui", U, I)


def loops(U, I):
    return torch.stack([torch.stack([(u * i).sum() for i in I]) for u in U])


def broadcast(U, I):
    return (U[:, None, :] * I[None, :, :]).sum(dim=-1)


def mm(U, I):
    return torch.mm(U, I.t())


CORRECT = [
    Variant("einsum", einsum),
    Variant("loops over users and items", loops),
    Variant("broadcast and sum", broadcast),
    Variant("torch.mm with .t()", mm),
]
