"""Research reports now belong to apps.reports (reports 0001 took them over): drop them from this
app's state only. The tables stay; reports 0002 renames them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("research", "0003_report_number_checks"),
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ReportReview"),
                migrations.DeleteModel(name="ResearchReport"),
            ],
            database_operations=[],
        ),
    ]
