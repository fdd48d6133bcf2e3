"""Fixtures of the resilience tests."""
import pytest

from tests.ops.test_two_processes import FakeTelnyx
from tests.resilience.production import ProductionStack


@pytest.fixture
def production(transactional_db, tmp_path):
    """The production profile's processes, started by each test as it needs them, and a fake Telnyx."""
    telnyx = FakeTelnyx()
    stack = ProductionStack(tmp_path, telnyx.port)
    stack.telnyx = telnyx
    try:
        yield stack
    finally:
        stack.stop()
        telnyx.close()
