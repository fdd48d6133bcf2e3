"""gunicorn settings for the portal's HTTP (pages, API, admin, webhooks); websockets go to daphne.

`gunicorn portal.wsgi` picks this file up from the working directory. Sync workers: the pages and the
webhook intake are short, CPU-bound requests, and one process per core (x2) keeps every core busy
while a request waits on PostgreSQL (bench/README.md has the numbers behind this choice).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# Import Django once in the master: workers fork with it loaded (faster start, shared memory pages).
preload_app = True
# Telnyx times out webhook deliveries; a stuck request is killed long before its retry would.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Recycle workers now and then so a slow leak in any library cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
# The load balancer in front already logs requests; gunicorn's access log would double the hot path's I/O.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
