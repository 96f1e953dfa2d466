"""`python -m {{ cookiecutter.package }}` runs the same command line as `{{ cookiecutter.project_name }}`."""

import sys

from {{ cookiecutter.package }}.cli import main

sys.exit(main())
