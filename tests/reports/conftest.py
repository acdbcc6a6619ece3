"""Reports are built on research documents: the research desk's fixtures (companies, the eager
model worker, a restricted reader) serve here too."""

from tests.research.conftest import companies, eager_models_worker, restricted_reader  # noqa: F401 - fixtures
