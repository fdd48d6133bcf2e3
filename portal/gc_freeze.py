"""Keep the garbage collector's full passes short in long-running server processes (issue 13)."""
import gc


def freeze_startup_objects() -> None:
    """Collect once, then move every object alive after start-up out of the collector's reach.

    A full (generation 2) collection walks every tracked object, and Django, DRF, Channels and their
    modules are hundreds of thousands of objects that live as long as the process. In daphne each
    full pass stopped every socket for 150-210 ms (bench/results/round5). Objects created later are
    collected as before. Called where a server has loaded the application: in the WSGI module (each
    granian worker imports it), before Celery's parent forks (the children share the frozen pages, as
    the gc documentation advises), and in the ASGI module for daphne.
    """
    gc.collect()
    gc.freeze()
