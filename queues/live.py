"""What the queues app publishes to open pages: a queue's page, the board and wallboard, admin, dashboard."""
from __future__ import annotations

from django.template.loader import render_to_string

from portal import live
from queues.models import Queue
from queues.selectors import board_context


def publish_queue(queue: Queue) -> None:
    """After commit: the queue's open pages re-fetch their own rendering; the board, admin and dashboard redraw."""
    group = f"queue.{queue.pk}"
    live.publish_rendered_once(
        f"queue:{queue.pk}", lambda: [(group, render_to_string("queues/_queue_refresh.html", {"queue": queue}))], groups=[group]
    )
    publish_board()


def publish_board() -> None:
    """Redraw the queue board (and wallboard) on open pages, once per transaction."""

    def build():
        return [("queues", render_to_string("queues/_queue_board.html", {**board_context(), "oob": True}))]

    live.publish_rendered_once("queues", build, groups=["queues"])
    live.publish_admin_changed("queues", "queue")
    live.publish_admin_changed("queues", "queuedcall")
    live.publish_dashboard()
