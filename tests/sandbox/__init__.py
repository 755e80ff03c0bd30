"""Tests of the OpenPhone contacts sandbox (sync.sandbox)."""
