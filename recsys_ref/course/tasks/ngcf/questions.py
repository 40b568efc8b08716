"""Concept questions of the NGCF track (two per notebook), answered in code: ``answer("q_ngcf_10a", q_ngcf_10a)``."""

from __future__ import annotations

from ...engine.questions import question
from . import NB10, NB11, NB12, NB13

EXERCISES = [
    question(
        "q_ngcf_10a",
        NB10,
        "the decay p_ui of one edge",
        "sha256:305b9c13c896be44d258775bed5a8a8f9ef8b213c3e9b68c7796427d2e7b164b:0.1:f6c79c608e36532e",
        "eq. 8's L_ui = 1/sqrt(|N_u||N_i|) = 1/sqrt(4·9) = 1/6: the symmetric normalisation divides by the "
        "square roots of both degrees.",
        wrong={
            "sha256:1b7b2e177dcd71e07c6eb13283ab751d7aaa2a8d7f4fbb4e40cfc8bb02065f8d:0.1:d885b97d7dce282f": "1/4 = 1/|N_u| is the row-normalised D⁻¹A (a mean over u's items); eq. 8 divides by "
            "sqrt(|N_u|) and sqrt(|N_i|)",
            "sha256:305b9c13c896be44d258775bed5a8a8f9ef8b213c3e9b68c7796427d2e7b164b:0.1:bf55b8291c122a2e": "1/9 = 1/|N_i| is the column-normalised A D⁻¹; eq. 8 uses both degrees, each under a "
            "square root",
            "sha256:274c8c85693151a23702db00fe26fce5ae3ab811a40a28aa653a054fbf86d9c7:0.01:9c6a0e0395a299a4": "1/36 = 1/(|N_u||N_i|) forgets the square root of eq. 8",
        },
        rtol=1e-2,
    ),
    question(
        "q_ngcf_10b",
        NB10,
        "the official code's L̃ and eq. 7's self-connection",
        "sha256:5e3794c52f9db7539cd1f2cc52c8083e32154f71c1ed46b31d9858efd9841334",
        "L̃ = D̃⁻¹(A+I) already holds the self-loop I, so using it inside eq. 7's (L+I)E W1 adds e_u twice, and "
        "its bi-interaction term (L̃E ⊙ E) W2 then contains e_u ⊙ e_u.",
        choices="ABC",
        wrong={
            "sha256:9e0c75871e1ff270ac901f619298f93ddfe348cd03bf3fa15db8695c9215982d": "D̃⁻¹(A+I) is row-normalised: it is symmetric only when all degrees are equal",
            "sha256:2b0e5a5bb06f4f4b51466f66f8210c714ec7dd68a6fe0f71051a8186a3d4c96c": "they differ in two ways: the self-loop inside L̃ and the normalisation D̃⁻¹ instead of "
            "D^{-1/2}·D^{-1/2}",
        },
    ),
    question(
        "q_ngcf_11a",
        NB11,
        "sparse products per eq.-7 layer",
        "sha256:aa037b64844724a30fbc85df6d3fb24ca891831c3a8112bccc4289b4b5c05eed:0.1:e134af64bbbe2792",
        "side = L E serves both terms: (L+I)E = side + E and (L E ⊙ E) = side ⊙ E, so one sparse product per layer.",
        wrong={
            "sha256:dff86a78591f9f3c7f95284453b9ec2eb79d56dd02508868622b57fd59fdf54e:1.0:079c35fe49c0c50b": "(L+I)E and L E ⊙ E share L E: compute it once as side = L E and reuse it",
            "sha256:ef205a049e255c4fd1348eb62e90e85652b4c6c1d40125cce10392823966df37:1.0:1b77b54b5e89b1fa": "the I of (L+I) needs no product (it is + E), and L E is shared by both terms",
        },
    ),
    question(
        "q_ngcf_11b",
        NB11,
        "the odd/even oscillation of repeated propagation",
        "sha256:74de1cb04987764dfe05dec1bd0dac6e3fdcb0a1e6201beb901ad568e9090638",
        "a bipartite graph's L has the eigenvalue −1 (eigenvector +1 on users, −1 on items, scaled by "
        "sqrt(degree)); its component flips sign at every product, so even and odd powers of L differ.",
        choices="ABC",
        wrong={
            "sha256:20be7fefc35874e5498522c9b48a3e70b8295268464da9c3a542c41213c99f6b": "no dropout acts in that experiment: it applies L to fixed random embeddings",
            "sha256:2e8452efed4eba16b9ee5dac134a34ebc5907b8b82bbe452763110aac910c85c": "the oscillation is exact linear algebra (the eigenvalue −1), the same in float64",
        },
    ),
    question(
        "q_ngcf_12a",
        NB12,
        "the squared norm of e* with per-layer normalisation",
        "sha256:a680079b7d7fecec33031ad43030cb7003ab06f8bf15ddc1accd14f99036bb8e:1.0:0c5964b95bdcdfda",
        "each of the 3 propagated layers is L2-normalised to norm 1, so ‖e*‖² = ‖e⁽⁰⁾‖² + 3 = 2 + 3 = 5: an L2 "
        "term on e* regularises only the ego embeddings (the official codes' term).",
        wrong={
            "sha256:583d1d72980275495c8a79546ee1e24ab5d0ab990b12ba8c9f478619442b3f71:1.0:811f26e5c92ee7b4": "the 3 propagated layers are concatenated too, each with squared norm 1",
            "sha256:6b60b9d1778e95dfa87e1da5f77d753a6bafbc8d69c4496b137d1f78ce0a16a2:1.0:b762e856c23be8fd": "the ego embedding e⁽⁰⁾ is concatenated as well (eq. 9), with its own ‖e⁽⁰⁾‖² = 2",
            "sha256:8003071b6a37dafa840549b4bcb46220768b54e23f06be37d3078451c5520776:1.0:4d5a69d07731e919": "there are 3 propagated layers of squared norm 1, plus ‖e⁽⁰⁾‖² = 2",
        },
    ),
    question(
        "q_ngcf_12b",
        NB12,
        "a training step without zero_grad",
        "sha256:347f520bd2c1af0ee0e4896f1fff19a7f6b4c08640092460c8542dd5629e68d3",
        "backward() adds into .grad; without zero_grad the second step uses g₁ + g₂ (a growing sum), not g₂.",
        choices="ABC",
        wrong={
            "sha256:5fca469891e8c8594e9622c032b3ea43b31e2bbb88bac6b50e7725707c76d867": "torch raises nothing: accumulation is the documented behaviour of backward()",
            "sha256:96a222236dce0aa5a3577c55a437aff8e80a3327952dca73dce9fb6f7efbe0e0": "backward() accumulates into .grad, it never overwrites it",
        },
    ),
    question(
        "q_ngcf_13a",
        NB13,
        "what LightGCN removes from NGCF",
        "sha256:4ea6ac36f3c2d08823333cc1187ab3e47bfd0b24e92a401c15a0411bc1c50aea",
        "LightGCN keeps E and the Laplacian propagation, and drops W1, W2, the bi-interaction term, the "
        "LeakyReLU and the self-connection (it propagates with L, not L + I); it averages the layers "
        "instead of concatenating them.",
        choices="ABC",
        wrong={
            "sha256:83e6333b21202dcba9b364d3b976e88f8a84ebc87e41ee488391f5df983a3ea4": "the Laplacian is the part LightGCN keeps: E^(k+1) = L E^(k), with L alone "
            "(NGCF's self-connection + I is dropped)",
            "sha256:cf411a25f8417018814f0703140b5c6bf167039248a0aa145dc6fb0a7342b569": "without the ego embeddings there would be nothing to propagate",
        },
    ),
    question(
        "q_ngcf_13b",
        NB13,
        "SVD++ as NGCF (eq. 12)",
        "sha256:24e5d0aab3bc8bf63d8cd40908ca52e0b487fb8047dec1a3ebefdd9f46041556",
        "one layer, no W and no nonlinearity; the user side sums its items with p_ui' = 1/sqrt(|N_u|) (SVD++'s "
        "implicit term) and the item side receives nothing, p_iu' = 0.",
        choices="ABC",
        wrong={
            "sha256:cb4da826775328d8904f0929f8cc3b240e3b0d38d6596c9cabef7cc3c7cb15ba": "with the symmetric decay on both sides you get a one-layer LightGCN-like model, not SVD++: "
            "SVD++ adds the implicit term only to the user",
            "sha256:0f621b75b74edb8b5db1149b2a6798e3c6bf30f53014e8d54f66884d8dcecf29": "SVD++ does add the user's items, |N_u|^{-1/2} Σ y_i, to the user; it is the item side "
            "that gets nothing",
        },
    ),
]
