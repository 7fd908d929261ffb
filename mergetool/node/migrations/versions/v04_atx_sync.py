"""Node schema 4: atx_sync_state and atx_sync_requests (node-global)."""

from alembic import op

revision = "v04"
down_revision = "v03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE TABLE atx_sync_state 
(
    epoch     INT NOT NULL,
    id        CHAR(32) NOT NULL,
    requests  INT NOT NULL DEFAULT 0, 
    PRIMARY KEY (epoch, id)
) WITHOUT ROWID"""  # noqa: W291 - the node's DDL text, trailing blanks included
    )
    op.execute(
        """CREATE TABLE atx_sync_requests 
(
    epoch     INT NOT NULL,
    timestamp INT NOT NULL,
    PRIMARY KEY (epoch)
) WITHOUT ROWID"""  # noqa: W291
    )
