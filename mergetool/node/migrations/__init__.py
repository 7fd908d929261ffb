"""Alembic revisions replaying the node's ``local.sql`` migrations 1 → 9.

Each revision performs the node's own steps (CREATE / ALTER TABLE … ADD COLUMN / RENAME, and
explicit rebuilds where the node rebuilds) because the node compares the stored DDL *text*.
They are driven by :mod:`mergetool.node.migrate`, which keeps the version in
``PRAGMA user_version`` and never creates Alembic's bookkeeping table in a node database.
"""
