"""``python -m registry_client`` is ``mreg``."""

from registry_client.cli import main

raise SystemExit(main())
