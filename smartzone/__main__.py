"""`python -m smartzone` is the `smartzone` command."""

import sys

from smartzone.cli import main

sys.exit(main())
