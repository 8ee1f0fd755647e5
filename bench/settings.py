"""The app's settings plus the benchmark's URLs (the baseline page lives only here)."""

from helpdesk.settings import *  # noqa: F403 - exactly the app's configuration, one override

ROOT_URLCONF = "bench.urls"
