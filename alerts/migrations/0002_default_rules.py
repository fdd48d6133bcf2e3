"""The default alert rules (issue 26), installed disabled: an Administrator enables them (`make run` does in the sandbox)."""
from django.db import migrations

DEFAULTS = [
    # name, metric, operator, threshold, for_secs, severity
    ("Long wait", "longest_wait_secs", ">", 30, 10, "warning"),
    ("Very long wait", "longest_wait_secs", ">", 120, 10, "critical"),
    ("Service level below 80 %", "service_level_percent", "<", 80, 300, "warning"),
    ("High abandon rate", "abandon_rate_percent", ">", 20, 120, "warning"),
    ("Commands failing", "failed_commands", ">", 0, 0, "warning"),
    ("Events failing", "failed_events", ">", 0, 0, "critical"),
    ("Webhooks falling behind", "webhook_lag_secs", ">", 60, 60, "critical"),
    ("Workers or beat missing", "workers_missing", ">", 0, 60, "critical"),
]


def install(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for name, metric, operator, threshold, for_secs, severity in DEFAULTS:
        AlertRule.objects.get_or_create(
            name=name, is_default=True,
            defaults={"metric": metric, "operator": operator, "threshold": threshold, "for_secs": for_secs,
                      "severity": severity, "enabled": False},
        )


def remove(apps, schema_editor):
    apps.get_model("alerts", "AlertRule").objects.filter(is_default=True, name__in=[d[0] for d in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
