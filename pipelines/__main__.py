"""`python -m pipelines` runs the command-line interface."""
import sys

from pipelines.cli import main

sys.exit(main())
