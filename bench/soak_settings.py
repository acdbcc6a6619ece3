"""Settings of the soak test's web process: the product's, with bench.soak_urls as the URLconf."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.soak_urls"
