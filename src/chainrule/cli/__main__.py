"""`python -m chainrule.cli`: the same command line as `chainrule`."""

from . import main

raise SystemExit(main())
