"""Run the CLI as `python -m scaffolder`."""

from scaffolder.cli import main

main()
