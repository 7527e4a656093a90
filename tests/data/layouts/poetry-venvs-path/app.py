"""The application: prints the versions it runs with."""

import idna
import six

print(six.__version__, idna.__version__)
