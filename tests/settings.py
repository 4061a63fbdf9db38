"""The product's settings, for the test run: a test run is an entry point like manage.py, so it
makes what the embedded default needs on disk (``gateway_project.bootstrap``) before loading them."""

import os

from gateway_project.bootstrap import prepare

prepare()
# Tests that sign in run without a second factor unless they test MFA themselves (tests/mfa, which
# set GATEWAY_ADMIN_MFA): the production default ("required" with Postgres or Redis) would ask every
# superuser of every test to enrol first. Gateway processes started by tests inherit this.
os.environ.setdefault("GATEWAY_ADMIN_MFA", "optional")

from gateway_project.settings import *  # noqa: E402, F403
