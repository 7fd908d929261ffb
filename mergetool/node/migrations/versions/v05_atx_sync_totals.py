"""Node schema 5 (1.4.0): two columns on atx_sync_requests."""

import sqlalchemy as sa
from alembic import op

revision = "v05"
down_revision = "v04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("atx_sync_requests", sa.Column("total", sa.INTEGER()))
    op.add_column("atx_sync_requests", sa.Column("downloaded", sa.INTEGER()))
