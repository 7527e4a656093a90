import setuptools

setuptools.setup(name="setup-py-name", version="1.0")
