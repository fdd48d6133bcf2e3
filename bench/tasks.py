"""The reference of the command benchmark: a Celery task that only sends one request to the fake Telnyx."""
import httpx
from celery import shared_task


@shared_task(name="bench.bare_command", ignore_result=True)
def bare_command(url: str) -> None:
    """What any design pays at least: the broker, a worker, one HTTP request (issue 13, part 3)."""
    httpx.post(url, json={}, timeout=10)
