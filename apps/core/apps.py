from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        import apps.core.api_schema  # noqa: F401  (registers the OpenAPI extensions)
        from apps.core.logging import task_log_context_connect

        task_log_context_connect()
