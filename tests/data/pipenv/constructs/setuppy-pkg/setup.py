from setuptools import setup

setup(
    name="setuppy-pkg",
    version="0.1.0",
)
