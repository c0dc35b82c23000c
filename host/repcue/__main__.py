import sys

from repcue.cli import main

sys.exit(main())
