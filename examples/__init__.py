"""Runnable example workflows (the tests run them too)."""
