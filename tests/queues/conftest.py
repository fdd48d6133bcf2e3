"""The sandbox fixtures (a local Telnyx over real HTTP) for the queue tests that drive it."""
from tests.sandbox.conftest import running_sandbox, sandbox, wired  # noqa: F401
