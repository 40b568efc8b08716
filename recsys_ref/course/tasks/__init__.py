"""Exercise specs: one package per track, one module per task (or per closely-knit pair).

Each task module holds its task's seeded cases, its wrong variants (misconceptions) and its
``Exercise`` spec together, in a list ``EXERCISES``; each track's concept questions are its
``questions`` module.  ``engine.registry`` collects every module's ``EXERCISES`` (subpackages and
top-level modules alike).  ``_generators`` holds the seeded generators every track draws from
(docs/design.md §5).
"""
