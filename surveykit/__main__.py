"""``python -m surveykit``: the command line."""

import sys

from surveykit.cli import main

sys.exit(main())
