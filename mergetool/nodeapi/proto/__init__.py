"""Stubs generated from ``post.proto`` (``scripts/gen_proto.py``); do not edit them by hand."""
