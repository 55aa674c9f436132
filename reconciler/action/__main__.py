"""``python -m reconciler.action``: the action's one run step."""

import sys

from reconciler.action.runner import main

sys.exit(main())
