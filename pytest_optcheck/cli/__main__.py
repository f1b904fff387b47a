"""`python -m pytest_optcheck.cli`: the `optcheck` command."""

import sys

from pytest_optcheck.cli.main import main

sys.exit(main())
