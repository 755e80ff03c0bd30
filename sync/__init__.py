"""The openphone-sync engine, CLI and API client."""
