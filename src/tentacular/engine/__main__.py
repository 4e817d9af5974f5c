"""`python -m tentacular.engine`: see tentacular.engine._service."""

import sys

from tentacular.engine._service import main

sys.exit(main())
