"""The probe: what parity learns from inside an environment.

- ``script``: the program run inside the image or venv (stdlib only, Python 2.7 and 3.5+);
  prints one JSON document of interpreter facts and installed distributions.
- ``parse``: the program's source and command line, and the parser of what it prints (pure).
- ``image_files``: the same facts read from an image's files without running anything (pure;
  used by ``--static``).
- ``file_access``: ``FileAccess``, stat and read an image's files whoever answers (the
  engine's archive API, an image's registry layers).
- ``interpreter_choice``: which Python an image runs (and its other venvs), from its config
  and files (pure).
- ``image_reader``: ``ImageReader``, one interpreter's world read from an image's files, the
  ``--static`` read (pure).

The runners that call the engine live in ``parity.engine``: ``probe_container`` (a new
throwaway container), ``probe_exec`` (a running container) and ``probe_static`` (an image's
files through the archive API, ``interpreters.ContainerFiles``). A venv is probed by
``parity.sources.venv``.
"""
