"""python -m read_secret: what the image runs."""

import sys

from .cli import main

sys.exit(main())
