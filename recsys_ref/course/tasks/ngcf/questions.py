"""Concept questions of the NGCF track (two per notebook), answered in code: ``answer("q_ngcf_10a", q_ngcf_10a)``."""

from __future__ import annotations

from ...engine.questions import question
from . import NB10, NB11, NB12, NB13

EXERCISES = [
    question(
        "q_ngcf_10a",
        NB10,
        "the decay p_ui of one edge",
        1 / 6,
        "eq. 8's L_ui = 1/sqrt(|N_u||N_i|) = 1/sqrt(4·9) = 1/6: the symmetric normalisation divides by the "
        "square roots of both degrees.",
        wrong={
            0.25: "1/4 = 1/|N_u| is the row-normalised D⁻¹A (a mean over u's items); eq. 8 divides by "
            "sqrt(|N_u|) and sqrt(|N_i|)",
            1
            / 9: "1/9 = 1/|N_i| is the column-normalised A D⁻¹; eq. 8 uses both degrees, each under a "
            "square root",
            1 / 36: "1/36 = 1/(|N_u||N_i|) forgets the square root of eq. 8",
        },
        rtol=1e-2,
    ),
    question(
        "q_ngcf_10b",
        NB10,
        "the official code's L̃ and eq. 7's self-connection",
        "A",
        "L̃ = D̃⁻¹(A+I) already holds the self-loop I, so using it inside eq. 7's (L+I)E W1 adds e_u twice, and "
        "its bi-interaction term (L̃E ⊙ E) W2 then contains e_u ⊙ e_u.",
        choices="ABC",
        wrong={
            "B": "D̃⁻¹(A+I) is row-normalised: it is symmetric only when all degrees are equal",
            "C": "they differ in two ways: the self-loop inside L̃ and the normalisation D̃⁻¹ instead of "
            "D^{-1/2}·D^{-1/2}",
        },
    ),
    question(
        "q_ngcf_11a",
        NB11,
        "sparse products per eq.-7 layer",
        1,
        "side = L E serves both terms: (L+I)E = side + E and (L E ⊙ E) = side ⊙ E, so one sparse product per layer.",
        wrong={
            2: "(L+I)E and L E ⊙ E share L E: compute it once as side = L E and reuse it",
            3: "the I of (L+I) needs no product (it is + E), and L E is shared by both terms",
        },
    ),
    question(
        "q_ngcf_11b",
        NB11,
        "the odd/even oscillation of repeated propagation",
        "A",
        "a bipartite graph's L has the eigenvalue −1 (eigenvector +1 on users, −1 on items, scaled by "
        "sqrt(degree)); its component flips sign at every product, so even and odd powers of L differ.",
        choices="ABC",
        wrong={
            "B": "no dropout acts in that experiment: it applies L to fixed random embeddings",
            "C": "the oscillation is exact linear algebra (the eigenvalue −1), the same in float64",
        },
    ),
    question(
        "q_ngcf_12a",
        NB12,
        "the squared norm of e* with per-layer normalisation",
        5,
        "each of the 3 propagated layers is L2-normalised to norm 1, so ‖e*‖² = ‖e⁽⁰⁾‖² + 3 = 2 + 3 = 5: an L2 "
        "term on e* regularises only the ego embeddings (the official codes' term).",
        wrong={
            2: "the 3 propagated layers are concatenated too, each with squared norm 1",
            3: "the ego embedding e⁽⁰⁾ is concatenated as well (eq. 9), with its own ‖e⁽⁰⁾‖² = 2",
            4: "there are 3 propagated layers of squared norm 1, plus ‖e⁽⁰⁾‖² = 2",
        },
    ),
    question(
        "q_ngcf_12b",
        NB12,
        "a training step without zero_grad",
        "A",
        "backward() adds into .grad; without zero_grad the second step uses g₁ + g₂ (a growing sum), not g₂.",
        choices="ABC",
        wrong={
            "B": "torch raises nothing: accumulation is the documented behaviour of backward()",
            "C": "backward() accumulates into .grad, it never overwrites it",
        },
    ),
    question(
        "q_ngcf_13a",
        NB13,
        "what LightGCN removes from NGCF",
        "A",
        "LightGCN keeps E and the Laplacian propagation, and drops W1, W2, the bi-interaction term and the "
        "LeakyReLU; it averages the layers instead of concatenating them.",
        choices="ABC",
        wrong={
            "B": "the Laplacian is the part LightGCN keeps: E^(k+1) = L E^(k)",
            "C": "without the ego embeddings there would be nothing to propagate",
        },
    ),
    question(
        "q_ngcf_13b",
        NB13,
        "SVD++ as NGCF (eq. 12)",
        "A",
        "one layer, no W and no nonlinearity; the user side sums its items with p_ui' = 1/sqrt(|N_u|) (SVD++'s "
        "implicit term) and the item side receives nothing, p_iu' = 0.",
        choices="ABC",
        wrong={
            "B": "with the symmetric decay on both sides you get a one-layer LightGCN-like model, not SVD++: "
            "SVD++ adds the implicit term only to the user",
            "C": "SVD++ does add the user's items, |N_u|^{-1/2} Σ y_i, to the user; it is the item side "
            "that gets nothing",
        },
    ),
]
