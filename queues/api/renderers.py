"""`?format=csv` for the metrics endpoint."""
import io

# defusedcsv: the csv module with cells beginning with = + - @ | % quoted, so a spreadsheet shows them
# instead of running them (queue names come from Telnyx and admins; issue 23).
from defusedcsv import csv
from rest_framework.renderers import BaseRenderer

from queues.figures import CSV_FIELDS


class CSVRenderer(BaseRenderer):
    """Renders a metrics dict (or a list of them) with the same columns as the page's export."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data if isinstance(data, list) else [data]
        out = io.StringIO()
        if rows and isinstance(rows[0], dict) and "queue" in rows[0]:
            writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_FIELDS})
        else:  # an error body
            writer = csv.writer(out)
            writer.writerow(["message"])
            writer.writerow([(data or {}).get("message", "") if isinstance(data, dict) else data])
        return out.getvalue().encode(self.charset)
