from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from apps.accounts.services import roles_sync

        # Permissions exist only after every app migrated, so groups are synced then.
        post_migrate.connect(lambda **kwargs: roles_sync(), dispatch_uid="argus_roles_sync", weak=False)
