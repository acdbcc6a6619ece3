from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.decorators import role_required
from apps.accounts.roles import DESK_ROLES


@role_required(DESK_ROLES)
def research_home(request: HttpRequest) -> HttpResponse:
    return render(request, "research/home.html")
