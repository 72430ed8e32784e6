"""Hostile inputs and faults (issue 10): each case runs the real command and checks the promise:
one line naming the problem, exit code 2, no traceback, nothing destroyed or half-written."""
