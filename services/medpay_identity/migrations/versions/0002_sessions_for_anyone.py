"""face_sessions.person_id without a foreign key: StartFaceAuth opens the same kind of
session for an ID number nobody is enrolled under (it can never succeed).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("face_sessions") as batch:
        batch.drop_constraint("fk_face_sessions_person_id_persons", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("face_sessions") as batch:
        batch.create_foreign_key("fk_face_sessions_person_id_persons", "persons",
                                 ["person_id"], ["person_id"])
