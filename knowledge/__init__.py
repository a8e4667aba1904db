"""The knowledge base library of the West District assistant (see README, For staff)."""

__version__ = "1.0.0"
