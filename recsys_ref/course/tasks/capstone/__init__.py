"""The capstone track (notebooks 30–31): one module per task.

``feels_like`` (cap_1, the KMA wind chill and its validity range), ``cyclic`` (cap_2, hour and
month on the circle), ``buckets`` (cap_3, temperature codes without collisions), ``top_k`` (cap_4,
top-K outfits, recently worn ones left out), ``logloss`` (cap_5, the logloss stratified by band),
``hat_basis`` (cap_6, the own-idea model's piecewise-linear basis), ``questions``.  Float codes
are the output contract's: ``dtype``.
"""

NB30, NB31 = "30_what_to_wear", "31_your_own_model"
