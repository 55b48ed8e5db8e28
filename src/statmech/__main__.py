"""``python -m statmech``: the same command line as the ``statmech`` script."""
import sys

from statmech.cli import main

if __name__ == "__main__":
    sys.exit(main())
