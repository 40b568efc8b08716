"""``python -m recsys_ref.course`` = the ``recsys-course`` command."""

import sys

from .cli import main

sys.exit(main())
