"""The portal's own settings, plus the reference view's URL: the same server serves both in one run."""
from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The reference task of the command benchmark, routed with the portal's commands.
CELERY_IMPORTS = ["bench.tasks"]
CELERY_TASK_ROUTES = {**CELERY_TASK_ROUTES, "bench.*": {"queue": "commands"}}  # noqa: F405
