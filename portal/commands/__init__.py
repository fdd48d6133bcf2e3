"""The command bus: every Telnyx command is declared once, queued as a Command row, sent by a task."""
