"""The NGCF track (notebooks 10–14, docs/design.md §4): one module per paper object.

``laplacian`` (ngcf_1 A from R, ngcf_2 the symmetric L, eq. 8), ``messages`` (ngcf_3, eq. 3–4 for
one node), ``layer`` (ngcf_4, eq. 7), ``prediction`` (ngcf_5, eq. 9–10), ``bpr_loss`` (ngcf_6,
eq. 11), ``metrics`` (ngcf_7, recall@K and ndcg@K), ``sampler`` (ngcf_8, eq. 11's triples),
``train_step`` (ngcf_9, one SGD step), ``questions``; ``_graphs`` draws the random graphs.
"""

NB10, NB11, NB12 = "10_graph_laplacian", "11_embedding_propagation", "12_model_bpr_training"
NB13, NB14 = (
    "13_beyond",
    "14_sampler_step_planted",
)  # 14: the sampler, the step, every tree planted back
