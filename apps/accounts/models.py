from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An Argus user. Roles are groups (see ``apps.accounts.roles``)."""

    display_name = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username
