"""The page shell: navigation per role, who is signed in, error pages, static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from apps.core import views as core_views
from tests.conftest import PASSWORD, client_for
from tests.ui.html import find_all, find_one, nav_items, parse

pytestmark = pytest.mark.django_db

# The navigation each role gets, in order. Admins hold every role's view.
EXPECTED_NAV = {
    "analyst": ["dashboard", "research", "risk", "jobs", "embed"],
    "risk_officer": ["dashboard", "risk", "research", "jobs"],
    "auditor": ["dashboard", "risk", "jobs", "audit"],
    "admin": ["dashboard", "research", "risk", "jobs", "embed", "audit", "admin", "api-docs"],
}

NAV_TARGETS = {
    "dashboard": "/",
    "research": "/research/",
    "risk": "/risk/",
    "jobs": "/jobs/",
    "embed": "/jobs/embed/",
    "audit": "/admin/audit/inferencerecord/",
    "admin": "/admin/",
    "api-docs": "/api/docs/",
}

# Page views and the personas that may open them (the rest get the 403 page).
PAGES = {
    "core:dashboard": {"analyst", "risk_officer", "auditor", "admin"},
    "jobs:list": {"analyst", "risk_officer", "auditor", "admin"},
    "jobs:embed": {"analyst", "risk_officer", "admin"},
    "research:home": {"analyst", "risk_officer", "admin"},
    "risk:home": {"analyst", "risk_officer", "auditor", "admin"},
}

STATIC_ASSETS = ["core/argus.css", "core/argus.js", "core/argus-mark.svg", "vendor/htmx/htmx.min.js"]


@pytest.mark.parametrize("persona", list(EXPECTED_NAV))
def test_navigation_shows_exactly_the_links_of_the_role(personas, persona):
    response = client_for(personas[persona]).get(reverse("core:dashboard"))

    assert response.status_code == 200
    assert nav_items(response.content) == EXPECTED_NAV[persona]
    for key in EXPECTED_NAV[persona]:
        assert find_one(response.content, data_nav=key).attrs["href"] == NAV_TARGETS[key]


@pytest.mark.parametrize("persona", list(EXPECTED_NAV))
def test_every_navigation_link_opens_for_the_role_that_sees_it(personas, persona):
    client = client_for(personas[persona])
    for key in EXPECTED_NAV[persona]:
        response = client.get(NAV_TARGETS[key])
        assert response.status_code == 200, f"{persona} -> {key}: {response.status_code}"


def test_outsider_without_a_role_gets_no_navigation_but_can_log_out(outsider):
    response = client_for(outsider).get(reverse("core:dashboard"))

    assert response.status_code == 403
    assert nav_items(response.content) == []
    assert find_all(response.content, action=reverse("accounts:logout"), method="post")
    assert "No role" in find_one(response.content, data_testid="user-roles").text


@pytest.mark.parametrize(("url_name", "allowed"), PAGES.items(), ids=list(PAGES))
def test_pages_render_for_the_roles_that_may_see_them_and_refuse_the_rest(personas, url_name, allowed):
    for persona, user in personas.items():
        response = client_for(user).get(reverse(url_name))
        if persona in allowed:
            assert response.status_code == 200, f"{url_name} as {persona}"
            assert response.templates[0].name != "error.html"
        else:
            assert response.status_code == 403, f"{url_name} as {persona}"
            assert find_one(response.content, data_testid="error-page")


@pytest.mark.parametrize(
    ("persona", "role_label"),
    [("analyst", "Analyst"), ("risk_officer", "Risk officer"), ("auditor", "Auditor"), ("admin", "Administrator")],
)
def test_shell_names_the_user_and_role_and_offers_a_csrf_protected_logout(personas, persona, role_label):
    user = personas[persona]
    response = client_for(user).get(reverse("jobs:list"))

    assert find_one(response.content, data_testid="user-name").text == str(user)
    assert find_one(response.content, data_testid="user-roles").text == role_label
    logout = find_one(response.content, action=reverse("accounts:logout"))
    assert logout.tag == "form" and logout.attrs["method"] == "post"
    assert find_all(response.content, name="csrfmiddlewaretoken")


def test_logout_button_signs_the_user_out(analyst):
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    page = client.get(reverse("core:dashboard"))
    token = find_all(page.content, name="csrfmiddlewaretoken")[0].attrs["value"]

    response = client.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert client.get(reverse("core:dashboard")).status_code == 302  # back to the login page


def test_login_page_signs_in_with_the_form_and_lands_on_the_dashboard(analyst):
    client = Client()
    page = client.get(reverse("accounts:login"))
    assert page.status_code == 200
    assert find_one(page.content, name="username") and find_one(page.content, name="password")

    response = client.post(reverse("accounts:login"), {"username": analyst.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("core:dashboard")
    assert client.get(response["Location"]).status_code == 200


def test_login_page_explains_a_wrong_password(analyst):
    response = Client().post(reverse("accounts:login"), {"username": analyst.username, "password": "wrong"})

    assert response.status_code == 200
    assert "correct username and password" in find_one(response.content, role="alert").text


def test_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get(reverse("jobs:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- error pages ---------------------------------------------------------------


def test_unknown_page_gets_the_styled_404_page(analyst):
    response = client_for(analyst).get("/no-such-page/")

    assert response.status_code == 404
    page = find_one(response.content, data_testid="error-page")
    assert "404" in page.text and "Not found" in page.text
    # The shell stays around it: the user can navigate on.
    assert "dashboard" in nav_items(response.content)


def test_forbidden_page_says_who_is_signed_in_and_with_which_role(auditor):
    response = client_for(auditor).get(reverse("research:home"))

    assert response.status_code == 403
    page = find_one(response.content, data_testid="error-page")
    assert "Forbidden" in page.text
    assert auditor.username in page.text and "Auditor" in page.text


def test_bad_request_handler_renders_the_400_page(analyst):
    request = RequestFactory().get("/jobs/")
    request.user = analyst

    response = core_views.bad_request(request)

    assert response.status_code == 400
    assert "Bad request" in find_one(response.content, data_testid="error-page").text


def test_server_error_page_renders_without_touching_the_database(django_assert_num_queries):
    # The database may be what failed: the 500 page must not need it.
    request = RequestFactory().get("/jobs/")
    request.request_id = "req-1234"

    with django_assert_num_queries(0):
        response = core_views.server_error(request)

    assert response.status_code == 500
    page = find_one(response.content, data_testid="error-page")
    assert "Server error" in page.text and "req-1234" in page.text
    assert find_all(response.content, rel="stylesheet")


def test_server_error_under_the_api_is_json():
    response = core_views.server_error(RequestFactory().get("/api/jobs/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


# --- static files: our own, never a CDN ------------------------------------------


def test_pages_load_css_and_javascript_only_from_our_static_files(analyst):
    response = client_for(analyst).get(reverse("jobs:list"))

    elements = parse(response.content)
    scripts = [e.attrs["src"] for e in elements if e.tag == "script" and e.attrs.get("src")]
    styles = [e.attrs["href"] for e in elements if e.tag == "link" and e.attrs.get("rel") == "stylesheet"]
    assert scripts == ["/static/vendor/htmx/htmx.min.js", "/static/core/argus.js"]
    assert styles == ["/static/core/argus.css"]
    assert not re.search(rb"""(src|href)=["']?(https?:)?//""", response.content)


@pytest.mark.parametrize("asset", STATIC_ASSETS)
def test_static_assets_are_found_by_the_staticfiles_finders(asset):
    found = finders.find(asset)

    assert found, asset
    assert Path(found).stat().st_size > 0


def test_vendored_htmx_ships_with_its_licence():
    htmx = Path(finders.find("vendor/htmx/htmx.min.js"))

    assert (htmx.parent / "LICENSE").read_text().startswith("Zero-Clause BSD")
    assert "htmx" in htmx.read_text()[:200]


@pytest.mark.slow
def test_collectstatic_with_the_production_storage_hashes_our_assets(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        from django.contrib.staticfiles.storage import staticfiles_storage

        hashed = {asset: staticfiles_storage.stored_name(asset) for asset in STATIC_ASSETS}

    for asset, stored in hashed.items():
        assert stored != asset, asset  # content hash in the name, so browsers may cache it forever
        assert (tmp_path / stored).is_file()
        assert (tmp_path / f"{stored}.gz").is_file()
