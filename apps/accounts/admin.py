from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import User


@admin.register(User)
class ArgusUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Argus", {"fields": ("display_name",)}))
