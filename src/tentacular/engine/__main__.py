"""`python -m tentacular.engine`: see tentacular.engine.service."""

import sys

from tentacular.engine.service import main

sys.exit(main())
