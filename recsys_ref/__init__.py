"""recsys_ref: the reference package of the recsys-course.

From the forest to the trees: NGCF (Wang et al., SIGIR 2019) and Factorization
Machines / Field-aware FMs (Rendle, ICDM 2010; Juan et al., RecSys 2016), each
paper object in a module of its own.  ``recsys_ref.course`` holds the course
machinery (exercise specs, ``check()``, the notebook build, progress, grading);
the core modules never import it.
"""

__version__ = "0.1.0"
