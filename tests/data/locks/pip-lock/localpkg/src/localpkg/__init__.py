"""A local package for parity pylock tests."""
