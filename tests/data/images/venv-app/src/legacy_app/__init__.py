"""A tiny project."""
