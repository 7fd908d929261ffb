"""The formats mergetool reads and writes, shipped in the wheel as ``mergetool._schemas``.

Data only (``node/``: the node's ``local.sql`` schema at each version; ``json/``: a JSON
Schema for every ``--json`` output and file format); read through :mod:`mergetool._formats`.
"""
