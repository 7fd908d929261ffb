"""Node schema 8 (1.6.0): initial_post + challenge column becomes post; poet_certificates."""

from alembic import op

revision = "v08"
down_revision = "v07"
branch_labels = None
depends_on = None

ZERO_CHALLENGE = "x'" + "00" * 32 + "'"


def upgrade() -> None:
    # Written out because the node's text has NOT NULL before DEFAULT; Alembic's
    # add_column renders them the other way round, and the node compares the text.
    op.execute(
        f"ALTER TABLE initial_post ADD COLUMN challenge BLOB NOT NULL DEFAULT {ZERO_CHALLENGE}"
    )
    op.rename_table("initial_post", "post")
    op.execute(
        """CREATE TABLE poet_certificates
(
    node_id      BLOB NOT NULL,
    certifier_id BLOB NOT NULL,
    certificate  BLOB NOT NULL,
    signature    BLOB NOT NULL
)"""
    )
    op.create_index(
        "idx_poet_certificates", "poet_certificates", ["node_id", "certifier_id"], unique=True
    )
