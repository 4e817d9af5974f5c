"""`python -m tentacular.engine`: see tentacular.engine._service."""

import sys

from tentacular.engine._lean import trim_start_up

trim_start_up()  # before anything builds a pydantic model

from tentacular.engine._service import main  # noqa: E402

sys.exit(main())
