"""The moved tables and their indexes take this app's names (research_* -> reports_*); rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("research", "0004_reports_moved_to_reports_app"),
    ]

    operations = [
        migrations.RenameIndex(
            model_name="researchreport",
            new_name="reports_res_request_5af2c0_idx",
            old_name="research_re_request_a61284_idx",
        ),
        migrations.RenameIndex(
            model_name="researchreport",
            new_name="reports_res_company_dd7d2d_idx",
            old_name="research_re_company_c53507_idx",
        ),
        migrations.AlterModelTable(name="reportreview", table=None),
        migrations.AlterModelTable(name="researchreport", table=None),
    ]
