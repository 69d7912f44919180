"""Browser tests (scripts/browser-test), kept out of tests/ so scripts/test stays fast."""
