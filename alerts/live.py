"""What the alerts app publishes: one group, `alerts`, that every page with a banner joins."""
from portal import live

GROUP = "alerts"
# Regions that re-fetch themselves (each renders for its viewer: the acknowledge button needs a permission).
REGIONS = "alert-banner alert-nav-count alert-list-live dashboard-alerts alert-detail-live"


def publish_alerts() -> None:
    """After commit: open pages re-fetch their banner, navigation count, Alerts list and dashboard alerts."""
    live.publish_rendered_once(GROUP, lambda: [(GROUP, f'<div data-refresh="{REGIONS}"></div>')], groups=[GROUP])
    live.publish_admin_changed("alerts", "alert")
