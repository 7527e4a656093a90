"""Images where they live: a registry or an image archive, read without a container engine.

``reference`` parses image references as docker does, ``auth`` finds docker's credentials,
``client`` speaks the registry protocol (on requests), ``manifest`` picks the platform of an
index, ``archive`` reads ``docker save`` tarballs and OCI layouts, ``layers`` streams layers
into a file index that keeps only what the static read needs, and ``read`` puts them
together behind the same reader as ``--static``.
"""
