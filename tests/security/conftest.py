"""Fixtures of the front-door security suites (helpers live in security_stack)."""

from security_stack import stack

__all__ = ["stack"]
