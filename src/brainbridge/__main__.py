"""``python -m brainbridge``: the command line."""

from brainbridge.cli import main

raise SystemExit(main())
