"""potential: which accounts to grow, which to save, and why."""

__version__ = "0.1.0"
