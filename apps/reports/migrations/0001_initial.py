"""Research reports move here from apps.research, tables and rows untouched.

The tables were created by research 0002/0003. This migration only takes the models into this
app's state (still on the research_* tables) and relabels their content types, so permissions
and admin log entries follow; research 0004 drops them from research's state. 0002 renames the tables.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED_MODELS = ("researchreport", "reportreview")


def relabel_content_types(apps, schema_editor, old_label="research", new_label="reports"):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED_MODELS:
        if content_type.objects.using(db).filter(app_label=new_label, model=model).exists():
            continue  # created by an earlier post_migrate run: keep it, the old one stays orphaned
        content_type.objects.using(db).filter(app_label=old_label, model=model).update(app_label=new_label)


def relabel_content_types_back(apps, schema_editor):
    relabel_content_types(apps, schema_editor, old_label="reports", new_label="research")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("jobs", "0002_alter_job_kind"),
        ("research", "0003_report_number_checks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ResearchReport",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        (
                            "template",
                            models.CharField(
                                choices=[
                                    ("equity_research", "Equity research note"),
                                    ("earnings_update", "Earnings update"),
                                    ("credit_review", "Credit review"),
                                ],
                                default="equity_research",
                                max_length=40,
                            ),
                        ),
                        ("question", models.TextField(blank=True)),
                        ("required_indicators", models.JSONField(blank=True, default=list)),
                        ("adapter_name", models.CharField(blank=True, max_length=100)),
                        ("adapter_label", models.CharField(blank=True, max_length=120)),
                        ("as_of", models.DateField(blank=True, null=True)),
                        ("allowed_access_levels", models.JSONField(default=list)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("generating", "Generating"),
                                    ("draft", "Draft"),
                                    ("needs_attention", "Needs attention"),
                                    ("approved", "Approved"),
                                    ("rejected", "Rejected"),
                                    ("failed", "Failed"),
                                ],
                                db_index=True,
                                default="queued",
                                max_length=20,
                            ),
                        ),
                        ("output", models.JSONField(blank=True, null=True)),
                        ("findings", models.JSONField(blank=True, default=dict)),
                        ("rendered_html", models.TextField(blank=True)),
                        ("rendered_markdown", models.TextField(blank=True)),
                        ("chunk_ids", models.JSONField(blank=True, default=list)),
                        (
                            "access_level",
                            models.CharField(
                                choices=[("public", "Public"), ("internal", "Internal"), ("restricted", "Restricted")],
                                db_index=True,
                                default="public",
                                max_length=20,
                            ),
                        ),
                        ("inference_seqs", models.JSONField(blank=True, default=list)),
                        ("supported_share", models.FloatField(blank=True, null=True)),
                        ("numbers_checked", models.PositiveIntegerField(default=0)),
                        ("numbers_unsupported", models.PositiveIntegerField(default=0)),
                        ("model_name", models.CharField(blank=True, max_length=200)),
                        ("model_version", models.CharField(blank=True, max_length=200)),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("generated_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "company",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="reports",
                                to="research.company",
                            ),
                        ),
                        (
                            "job",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="jobs.job",
                            ),
                        ),
                        (
                            "requested_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="reports",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "research_researchreport",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(fields=["requested_by", "created_at"], name="research_re_request_a61284_idx"),
                            models.Index(fields=["company", "created_at"], name="research_re_company_c53507_idx"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReportReview",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "decision",
                            models.CharField(
                                choices=[("approved", "Approved"), ("rejected", "Rejected")], max_length=20
                            ),
                        ),
                        ("comment", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "report",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="reviews",
                                to="reports.researchreport",
                            ),
                        ),
                        (
                            "reviewer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "research_reportreview", "ordering": ["created_at"]},
                ),
            ],
            database_operations=[
                migrations.RunPython(relabel_content_types, relabel_content_types_back, elidable=False),
            ],
        ),
    ]
