from django.urls import path

from apps.research import views

app_name = "research"

urlpatterns = [path("", views.research_home, name="home")]
