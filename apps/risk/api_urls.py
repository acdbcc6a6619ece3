"""/api/risk/ routes (included from config/api_urls.py)."""

from django.urls import path

from apps.risk import api

urlpatterns = [
    path("feeds/", api.FeedListCreateApi.as_view(), name="api-risk-feed-list"),
    path("feeds/<int:feed_id>/", api.FeedDetailApi.as_view(), name="api-risk-feed-detail"),
    path("feeds/<int:feed_id>/upload/", api.FeedUploadApi.as_view(), name="api-risk-feed-upload"),
    path("articles/", api.ArticleListApi.as_view(), name="api-risk-article-list"),
    path("articles/<uuid:article_id>/", api.ArticleDetailApi.as_view(), name="api-risk-article-detail"),
    path("watchlists/", api.WatchlistListApi.as_view(), name="api-risk-watchlist-list"),
    path("watchlists/<int:watchlist_id>/", api.WatchlistDetailApi.as_view(), name="api-risk-watchlist-detail"),
    path("alerts/", api.AlertListApi.as_view(), name="api-risk-alert-list"),
    path("alerts/<int:alert_id>/", api.AlertDetailApi.as_view(), name="api-risk-alert-detail"),
    path("alerts/<int:alert_id>/acknowledge/", api.AlertAcknowledgeApi.as_view(), name="api-risk-alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", api.AlertResolveApi.as_view(), name="api-risk-alert-resolve"),
    path("alerts/<int:alert_id>/assign/", api.AlertAssignApi.as_view(), name="api-risk-alert-assign"),
    path("alerts/<int:alert_id>/escalate/", api.AlertEscalateApi.as_view(), name="api-risk-alert-escalate"),
    path("companies/<str:ticker>/scores/", api.CompanyScoresApi.as_view(), name="api-risk-company-scores"),
    path("scores/<int:score_id>/attribution/", api.ScoreAttributionApi.as_view(), name="api-risk-score-attribution"),
    path("articles/<uuid:article_id>/analysis/", api.ArticleAnalysisApi.as_view(), name="api-risk-article-analysis"),
]
