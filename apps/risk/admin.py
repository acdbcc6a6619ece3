from django.contrib import admin

from apps.risk.models import (
    Alert,
    AlertAction,
    Article,
    ArticleCompany,
    ArticleRejection,
    Feed,
    RelationEdge,
    RiskEvent,
    RiskScore,
    Watchlist,
)


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "last_success_at", "consecutive_errors", "next_poll_at")
    list_filter = ("kind", "enabled")
    readonly_fields = ("last_polled_at", "last_success_at", "last_error", "consecutive_errors", "created_at")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "source", "published_at", "status", "duplicate_of")
    list_filter = ("status", "source")
    search_fields = ("title", "external_id", "content_hash")
    raw_id_fields = ("feed", "duplicate_of")
    readonly_fields = ("content_hash", "fetched_at")


@admin.register(ArticleRejection)
class ArticleRejectionAdmin(admin.ModelAdmin):
    list_display = ("feed", "received_at", "reason", "line_number", "item_index")
    list_filter = ("feed",)


admin.site.register(ArticleCompany, list_display=("article", "company", "mention_count", "sentiment_label"))
admin.site.register(RiskEvent, list_display=("company", "event_type", "severity", "occurred_at", "source"))
admin.site.register(RelationEdge, list_display=("source", "relation", "target", "weight", "last_seen"))
admin.site.register(RiskScore, list_display=("company", "as_of", "score", "level", "model_version"))


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "watch_threshold", "warning_threshold", "critical_threshold")
    filter_horizontal = ("companies",)


class AlertActionInline(admin.TabularInline):
    model = AlertAction
    extra = 0
    can_delete = False
    readonly_fields = ("at", "action", "actor", "actor_label", "note", "details")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts change through the workflow (services), which writes their history; the console only reads."""

    list_display = ("company", "watchlist", "level", "status", "score", "raised_at")
    list_filter = ("level", "status", "watchlist")
    inlines = [AlertActionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertAction)
class AlertActionAdmin(admin.ModelAdmin):
    list_display = ("alert", "action", "actor", "actor_label", "at")
    list_filter = ("action",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
