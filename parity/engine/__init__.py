"""The container engine edge: the only package that imports ``docker`` (lazily)."""
