#!/bin/sh
exec /opt/venv/bin/python -c "import six, idna, attr"
