"""PostgreSQL only: a trigger that refuses UPDATE and DELETE on the audit table.

Defence in depth behind the ORM's refusal: a stray ``UPDATE`` from a psql session
or another service fails too. It does not stop a database superuser (who can
disable the trigger); the hash chain and ``verify_audit`` are what catch that.
TRUNCATE is left to privileges (the test runner's flush uses it).
"""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION audit_inferencerecord_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit records are append-only: ' || TG_OP || ' refused on ' || TG_TABLE_NAME,
        ERRCODE = 'insufficient_privilege';
END;
$$
"""

TRIGGER_SQL = """
CREATE TRIGGER audit_inferencerecord_append_only
BEFORE UPDATE OR DELETE ON audit_inferencerecord
FOR EACH ROW EXECUTE FUNCTION audit_inferencerecord_refuse_change()
"""

DROP_SQL = (
    "DROP TRIGGER IF EXISTS audit_inferencerecord_append_only ON audit_inferencerecord",
    "DROP FUNCTION IF EXISTS audit_inferencerecord_refuse_change()",
)


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION_SQL, params=None)
    schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP_SQL:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
