"""``python -m snnconform``: the same as the ``snnconform`` console script."""

import sys

from snnconform._cli import main

sys.exit(main())
