"""The portal's own settings, plus the reference view's URL: the same server serves both in one run."""
from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
