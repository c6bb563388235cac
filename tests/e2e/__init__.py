"""End-to-end tests: every service as a separate process, driven over HTTP."""
