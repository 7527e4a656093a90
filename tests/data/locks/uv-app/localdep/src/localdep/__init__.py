"""A tiny local path dependency for parity lock tests."""
