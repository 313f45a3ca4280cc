"""``python -m aftersales_desk`` runs the same entry point as the ``aftersales-desk`` script."""

from aftersales_desk.cli import main

raise SystemExit(main())
