from django.urls import path

from apps.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("table/", views.job_table, name="table"),
    path("embed/", views.embed_start, name="embed"),
    path("<uuid:job_id>/", views.job_detail, name="detail"),
    path("<uuid:job_id>/progress/", views.job_progress, name="progress"),
    path("replay/<int:seq>/", views.inference_replay_start, name="inference-replay"),
]
