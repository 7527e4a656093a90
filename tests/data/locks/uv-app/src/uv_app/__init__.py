"""Test project for parity lock tests."""
