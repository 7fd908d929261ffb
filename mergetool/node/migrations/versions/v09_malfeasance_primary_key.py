"""Node schema 9 (1.7.0): malfeasance_sync_state re-created with a primary key (row id 1)."""

from alembic import op

revision = "v09"
down_revision = "v08"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Moved aside and re-created (not renamed back) so the DDL keeps its unquoted name.
    op.rename_table("malfeasance_sync_state", "malfeasance_sync_state_old")
    op.execute(
        """CREATE TABLE malfeasance_sync_state
(
  id INT NOT NULL PRIMARY KEY,
  timestamp INT NOT NULL
)"""
    )
    op.execute(
        "INSERT INTO malfeasance_sync_state (id, timestamp)"
        " SELECT 1, coalesce(max(timestamp), 0) FROM malfeasance_sync_state_old"
    )
    op.drop_table("malfeasance_sync_state_old")
