"""`python -m <package>` runs the same command line as the console script."""

import sys

from {{ cookiecutter.package }}.cli import main

sys.exit(main())
