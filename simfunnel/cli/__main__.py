"""``python -m simfunnel.cli``: the same as the ``simfunnel`` command."""

import sys

from .commands import main

sys.exit(main())
