"""Node schema 2: initial_post gains num_units, vrf_nonce and a NOT NULL commit_atx (rebuilt)."""

from alembic import op

revision = "v02"
down_revision = "v01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The node rebuilds the table under a new name and renames it back, which is why the
    # stored DDL reads CREATE TABLE "initial_post" (quoted) from here on.
    op.execute(
        """CREATE TABLE initial_post_new
(
    id            CHAR(32) PRIMARY KEY,
    post_nonce    UNSIGNED INT NOT NULL,
    post_indices  VARCHAR NOT NULL,
    post_pow      UNSIGNED LONG INT NOT NULL,

    num_units     UNSIGNED INT NOT NULL,
    commit_atx    CHAR(32) NOT NULL,
    vrf_nonce     UNSIGNED LONG INT NOT NULL
)"""
    )
    op.execute(
        "INSERT INTO initial_post_new (id, post_nonce, post_indices, post_pow, num_units,"
        " commit_atx, vrf_nonce)"
        " SELECT id, post_nonce, post_indices, post_pow, 0, coalesce(commit_atx, zeroblob(32)), 0"
        " FROM initial_post"
    )
    op.drop_table("initial_post")
    op.rename_table("initial_post_new", "initial_post")
