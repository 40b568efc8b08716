"""The FM track (notebooks 20–22, docs/design.md §4): one module per paper object.

``encoding`` (fm_1 label encoding with offsets, fm_2 one-hot), ``pairwise`` (fm_3 the naive
pairwise term of eq. 1, fm_4 Lemma 3.1's O(kn) form), ``fields`` (fm_5, Lemma 3.1 on label-encoded
fields), ``model`` (fm_6, the FM forward of eq. 1), ``ffm`` (fm_7, the FFM interaction),
``gradient`` (fm_8, eq. 4's ∂ŷ/∂V), ``sgd_step`` (fm_9, one SGD step), ``questions``.
"""

NB20, NB21, NB22 = "20_ctr_data_encoding", "21_fm_okn_trick", "22_fm_ffm_generalisation"
