"""The product's settings, for the test run: a test run is an entry point like manage.py, so it
makes what the embedded default needs on disk (``gateway_project.bootstrap``) before loading them."""

from gateway_project.bootstrap import prepare

prepare()

from gateway_project.settings import *  # noqa: E402, F403
