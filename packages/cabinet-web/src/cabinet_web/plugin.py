"""Plugin registration."""
