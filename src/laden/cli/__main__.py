import sys

from laden.cli import main

sys.exit(main())
