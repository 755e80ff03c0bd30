"""Tests of the OpenPhone API client: limiter, classify, transport and client."""
