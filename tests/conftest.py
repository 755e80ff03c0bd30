"""Fixtures shared by every test folder."""

from __future__ import annotations

from tests.state.databases import any_state_url, mysql_admin, postgres_admin, state_url

__all__ = ["any_state_url", "mysql_admin", "postgres_admin", "state_url"]
