"""A local Telnyx Call Control simulator: REST in, signed webhooks out; it never imports the portal."""
