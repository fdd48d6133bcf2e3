"""The audit trail as CSV, with cells a spreadsheet would run as formulas made inert."""
import csv
import json

from portal.audit.models import AuditEntry

COLUMNS = ["at", "kind", "username", "address", "door", "target", "summary", "detail"]
# OWASP "CSV injection": a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def csv_rows(entries):
    """Header then one line per entry, each an encoded CSV line (for a streaming response)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow([inert(v) for v in _cells(entry)])


def _cells(entry: AuditEntry) -> list:
    return [
        entry.at.isoformat(), entry.kind, entry.username, entry.address, entry.door, entry.target, entry.summary,
        json.dumps(entry.detail, sort_keys=True, default=str) if entry.detail else "",
    ]
