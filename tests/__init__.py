"""Tests of openphone-sync."""
