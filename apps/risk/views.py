from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.decorators import role_required
from apps.accounts.roles import Role


@role_required({Role.RISK_OFFICER, Role.ANALYST})
def risk_home(request: HttpRequest) -> HttpResponse:
    return render(request, "risk/home.html")
