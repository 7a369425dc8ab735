"""Facilitator: a real-time meeting room for collective impact networks."""

__version__ = "0.1.0"
