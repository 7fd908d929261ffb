"""Node schema 6: prepared_activeset (node-global)."""

from alembic import op

revision = "v06"
down_revision = "v05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE TABLE prepared_activeset
(
    kind          UNSIGNED INT NOT NULL,    
    epoch         UNSIGNED INT NOT NULL,
    id            CHAR(32) NOT NULL,
    weight        UNSIGNED INT NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (kind, epoch)
) WITHOUT ROWID"""  # noqa: W291
    )
