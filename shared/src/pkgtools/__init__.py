"""Tooling around the system: reading and writing topics from outside it, and test helpers.

Nothing in the services imports it; `testing/` is left out of the installed wheel.
"""
