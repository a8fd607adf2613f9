"""Helpers for tests that need more than fixtures: a TCP proxy, a real server."""
