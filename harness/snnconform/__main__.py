"""``python -m snnconform``: the same as the ``snnconform`` console script."""

import sys

from snnconform.core._cli import main

sys.exit(main())
