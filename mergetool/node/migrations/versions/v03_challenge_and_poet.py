"""Node schema 3: old nipost becomes challenge (+2 columns); new poet_registration and nipost."""

import sqlalchemy as sa
from alembic import op

revision = "v03"
down_revision = "v02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("nipost", "challenge")
    op.add_column("challenge", sa.Column("poet_proof_ref", sa.CHAR(32)))
    op.add_column("challenge", sa.Column("poet_proof_membership", sa.VARCHAR()))
    op.execute(
        """CREATE TABLE nipost
(
    id            CHAR(32) PRIMARY KEY,
    post_nonce    UNSIGNED INT NOT NULL,
    post_indices  VARCHAR NOT NULL,
    post_pow      UNSIGNED LONG INT NOT NULL,

    num_units UNSIGNED INT NOT NULL,
    vrf_nonce UNSIGNED LONG INT NOT NULL,

    poet_proof_membership VARCHAR NOT NULL,
    poet_proof_ref        CHAR(32) NOT NULL,
    labels_per_unit       UNSIGNED INT NOT NULL
) WITHOUT ROWID"""
    )
    op.execute(
        """CREATE TABLE poet_registration
(
    id            CHAR(32) NOT NULL,
    hash          CHAR(32) NOT NULL,
    address       VARCHAR NOT NULL,
    round_id      VARCHAR NOT NULL,
    round_end     INT NOT NULL,

    PRIMARY KEY (id, address)
) WITHOUT ROWID"""
    )
