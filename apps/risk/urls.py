from django.urls import path

from apps.risk import views

app_name = "risk"

urlpatterns = [path("", views.risk_home, name="home")]
