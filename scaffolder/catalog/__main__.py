"""`python -m scaffolder.catalog --audit`: the monthly catalog freshness check (see scaffolder.catalog.audit)."""

import sys

from scaffolder.catalog.audit import main

sys.exit(main())
