"""``python -m clickstream.security``: see :mod:`clickstream.security.cli`."""

import sys

from clickstream.security.cli import main

sys.exit(main())
