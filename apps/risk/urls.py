from django.urls import path

from apps.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.risk_home, name="home"),
    path("critical-alerts/", views.critical_alerts_view, name="critical-alerts"),
    path("companies/<str:ticker>/", views.company_risk_view, name="company"),
    path("scores/<int:score_id>/attribution/", views.score_attribution_view, name="score-attribution"),
    path(
        "scores/<int:score_id>/attribution/export/",
        views.score_attribution_export_view,
        name="score-attribution-export",
    ),
    path("feeds/", views.feed_list_view, name="feeds"),
    path("feeds/<int:feed_id>/", views.feed_detail_view, name="feed-detail"),
    path("feeds/<int:feed_id>/upload/", views.feed_upload_view, name="feed-upload"),
    path("articles/", views.article_list_view, name="articles"),
    path("articles/<uuid:article_id>/", views.article_detail_view, name="article-detail"),
    path("watchlists/", views.watchlist_list_view, name="watchlists"),
    path("watchlists/new/", views.watchlist_edit_view, name="watchlist-create"),
    path("watchlists/<int:watchlist_id>/", views.watchlist_detail_view, name="watchlist-detail"),
    path("watchlists/<int:watchlist_id>/edit/", views.watchlist_edit_view, name="watchlist-edit"),
    path("alerts/", views.alert_list_view, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail_view, name="alert-detail"),
    path("alerts/<int:alert_id>/act/", views.alert_act_view, name="alert-act"),
]
