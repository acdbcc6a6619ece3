from tests.api.conftest import isolated_throttle_cache  # noqa: F401  (autouse here too)
