"""Background work: the Procrastinate app, its tasks and the worker runner."""
