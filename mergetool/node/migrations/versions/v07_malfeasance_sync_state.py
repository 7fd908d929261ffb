"""Node schema 7 (1.4.3): malfeasance_sync_state with its single row at timestamp 0."""

from alembic import op

revision = "v07"
down_revision = "v06"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE TABLE malfeasance_sync_state
(
  timestamp INT NOT NULL
)"""
    )
    op.execute("INSERT INTO malfeasance_sync_state (timestamp) VALUES (0)")
