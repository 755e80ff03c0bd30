"""Tests of the source connectors, and the contract every connector passes."""
