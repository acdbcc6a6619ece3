from django.urls import path

from apps.research import views

app_name = "research"

urlpatterns = [
    path("", views.research_home, name="home"),
    path("table/", views.document_table, name="table"),
    path("upload/", views.document_upload, name="upload"),
    path("search/", views.search, name="search"),
    path("ask/", views.ask, name="ask"),
    path("ask/<uuid:job_id>/", views.ask_result, name="ask-result"),
    path("documents/<uuid:document_id>/", views.document_detail, name="document-detail"),
    path("documents/<uuid:document_id>/status/", views.document_status, name="document-status"),
    path("documents/<uuid:document_id>/reindex/", views.document_reindex_view, name="document-reindex"),
    path("documents/<uuid:document_id>/delete/", views.document_delete_view, name="document-delete"),
]
