from django.contrib import admin

from apps.registry.models import Adapter, BaseModel, TextClassifier


@admin.register(BaseModel)
class BaseModelAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "architecture", "dtype", "context_length", "short_hash", "created_at")
    readonly_fields = [f.name for f in BaseModel._meta.fields]

    @admin.display(description="content hash")
    def short_hash(self, obj: BaseModel) -> str:
        return obj.content_hash[:16]

    def has_add_permission(self, request) -> bool:
        return False  # registered by `manage.py register_base_model`, which hashes the checkpoint


@admin.register(Adapter)
class AdapterAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "base_model", "status", "short_hash", "created_at")
    list_filter = ("status", "name", "base_model")
    readonly_fields = [f.name for f in Adapter._meta.fields]

    @admin.display(description="file hash")
    def short_hash(self, obj: Adapter) -> str:
        return obj.file_hash[:16]

    def has_add_permission(self, request) -> bool:
        return False  # adapters come from training jobs or `manage.py register_adapter`


@admin.register(TextClassifier)
class TextClassifierAdmin(admin.ModelAdmin):
    list_display = ("name", "task", "version", "status", "short_hash", "created_at")
    list_filter = ("task", "status", "name")
    readonly_fields = [f.name for f in TextClassifier._meta.fields]

    @admin.display(description="content hash")
    def short_hash(self, obj: TextClassifier) -> str:
        return obj.content_hash[:16]

    def has_add_permission(self, request) -> bool:
        return False  # classifiers come from `manage.py train_sentiment` or its training job
