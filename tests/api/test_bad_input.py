"""Bad input to POST /api/embeddings/ is a clear 4xx, and nothing is written or queued.

Content type: a body that is not ``application/json`` is a 415 (the type is what is
wrong, and a client can act on that), every other bad body a 400.
"""

from __future__ import annotations

import io
import json
from unittest import mock

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.exceptions import ParseError

from apps.core.api_parsers import BoundedJSONParser, RequestBodyTooLarge
from apps.jobs.models import Job
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/embeddings/"
JSON = "application/json"


@pytest.fixture
def send_task():
    """The broker, replaced: records what would have been enqueued."""
    with mock.patch("apps.jobs.services.celery_app.send_task") as patched:
        yield patched


@pytest.fixture
def post_as_analyst(analyst, send_task, django_capture_on_commit_callbacks):
    """POST a raw body as the analyst; return the response after checking nothing was written."""
    client = client_for(analyst)

    def post(body: bytes | str, content_type: str = JSON, *, expect_written: bool = False):
        jobs_before = Job.objects.count()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            # generic(): sends the bytes as given, whatever charset the content type names.
            response = client.generic("POST", URL, body, content_type=content_type)
        if expect_written:
            assert Job.objects.count() == jobs_before + 1
            assert len(callbacks) == 1 and send_task.call_count == 1
        else:
            assert Job.objects.count() == jobs_before, "a job row was written"
            assert callbacks == [], "something was scheduled to run on commit"
            send_task.assert_not_called()
        return response

    return post


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    return error


def test_valid_body_creates_one_job_and_queues_it(post_as_analyst, send_task):
    """The control: the checks used below do see a write and an enqueue."""
    response = post_as_analyst(json.dumps({"texts": ["Revenue grew 12%."]}), expect_written=True)
    assert response.status_code == 202
    assert send_task.call_args.args[0] == "gpu_workers.tasks.embed_texts"
    assert send_task.call_args.kwargs["args"] == [response.json()["id"]]


# --- not JSON at all ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected_in_detail"),
    [
        pytest.param('{"texts": ["unclosed"', JSON, "JSON parse error", id="truncated"),
        pytest.param('{"texts": ["a",]}', JSON, "JSON parse error", id="trailing-comma"),
        pytest.param("{'texts': ['a']}", JSON, "JSON parse error", id="single-quotes"),
        pytest.param('{"texts": NaN}', JSON, "JSON parse error", id="nan"),
        pytest.param(b'{"texts": ["caf\xe9"]}', JSON, "JSON parse error", id="not-utf8"),
        pytest.param("[" * 50_000 + "]" * 50_000, JSON, "nested too deeply", id="deeply-nested"),
    ],
)
def test_malformed_json_is_400_parse_error(post_as_analyst, body, content_type, expected_in_detail):
    error = error_of(post_as_analyst(body, content_type), 400)
    assert error["code"] == "parse_error"
    assert expected_in_detail in error["detail"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("texts=a&texts=b", "application/x-www-form-urlencoded", id="form"),
        pytest.param('{"texts": ["a"]}', "text/plain", id="text-plain"),
        pytest.param('{"texts": ["a"]}', "application/xml", id="xml"),
    ],
)
def test_body_that_is_not_declared_json_is_415(post_as_analyst, body, content_type):
    error = error_of(post_as_analyst(body, content_type), 415)
    assert error["code"] == "unsupported_media_type"
    assert content_type in error["detail"]


def test_charset_that_is_not_a_text_encoding_is_400(post_as_analyst):
    # A bytes-to-bytes codec would decompress the body after the size check.
    error = error_of(post_as_analyst(b'{"texts": ["a"]}', "application/json; charset=zlib_codec"), 400)
    assert error["code"] == "parse_error"


# --- JSON, but the wrong shape -------------------------------------------------------


def texts_errors(response) -> object:
    error = error_of(response, 400)
    assert error["code"] == "invalid"
    assert error["detail"].startswith("Invalid input. texts")
    return error["fields"]["texts"]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        pytest.param("Revenue grew.", 'Expected a list of items but got type "str".', id="string-not-list"),
        pytest.param({"a": "b"}, 'Expected a list of items but got type "dict".', id="object-not-list"),
        pytest.param(None, "This field may not be null.", id="null"),
        pytest.param([], "This list may not be empty.", id="empty-list"),
    ],
)
def test_texts_of_the_wrong_type_is_400_on_the_field(post_as_analyst, texts, message):
    assert texts_errors(post_as_analyst(json.dumps({"texts": texts}))) == [message]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param(12, "Must be a string, not int.", id="int"),
        pytest.param(1.5, "Must be a string, not float.", id="float"),
        pytest.param(True, "Must be a string, not bool.", id="bool"),
        pytest.param(["nested"], "Must be a string, not list.", id="list"),
        pytest.param(None, "This field may not be null.", id="null"),
        pytest.param("   ", "This field may not be blank.", id="blank"),
        pytest.param("a\x00b", "Null characters are not allowed.", id="nul-char"),
    ],
)
def test_bad_item_is_400_naming_its_index(post_as_analyst, item, message):
    fields = texts_errors(post_as_analyst(json.dumps({"texts": ["Fine text.", item]})))
    assert fields == {"1": [message]}


def test_lone_surrogate_is_400_not_a_database_error(post_as_analyst):
    # json.loads accepts "\ud800"; PostgreSQL's jsonb would not, mid-transaction.
    fields = texts_errors(post_as_analyst('{"texts": ["ok", "\\ud800"]}'))
    assert list(fields) == ["1"]
    assert "surrogate" in fields["1"][0].lower()


def test_too_many_texts_is_400(post_as_analyst):
    limit = settings.ARGUS_EMBED_MAX_TEXTS
    fields = texts_errors(post_as_analyst(json.dumps({"texts": ["t"] * (limit + 1)})))
    assert fields == [f"Ensure this field has no more than {limit} elements."]


def test_too_long_text_is_400(post_as_analyst):
    limit = settings.ARGUS_EMBED_MAX_TEXT_CHARS
    fields = texts_errors(post_as_analyst(json.dumps({"texts": ["ok", "x" * (limit + 1)]})))
    assert fields == {"1": [f"Ensure this field has no more than {limit} characters."]}


def test_missing_texts_is_400(post_as_analyst):
    assert texts_errors(post_as_analyst("{}")) == ["This field is required."]


def test_empty_body_is_400_like_a_missing_field(post_as_analyst):
    assert texts_errors(post_as_analyst("")) == ["This field is required."]


def test_unknown_field_is_400_naming_it(post_as_analyst):
    error = error_of(post_as_analyst(json.dumps({"texts": ["a"], "model": "gpt-4", "batch": 8})), 400)
    assert set(error["fields"]) == {"batch", "model"}
    assert error["fields"]["model"] == ["Unknown field. Allowed fields: texts."]
    assert "batch" in error["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param('[{"texts": ["a"]}]', "Invalid data. Expected a dictionary, but got list.", id="list"),
        pytest.param('"texts"', "Invalid data. Expected a dictionary, but got str.", id="string"),
        pytest.param("42", "Invalid data. Expected a dictionary, but got int.", id="number"),
        pytest.param("null", "No data provided", id="null"),
    ],
)
def test_body_that_is_not_an_object_is_400(post_as_analyst, body, message):
    error = error_of(post_as_analyst(body), 400)
    assert error["code"] == "invalid"
    assert error["fields"] == {"non_field_errors": [message]}
    assert error["detail"] == f"Invalid input. {message}"


# --- size -------------------------------------------------------------------------------


def body_of_size(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes (a few hundred 6,000-character texts)."""
    text_chars = 6000
    count = size // (text_chars + 4) + 1
    texts = ["x" * text_chars] * count
    body = json.dumps({"texts": texts}).encode()
    surplus = len(body) - size
    assert 0 <= surplus < text_chars, surplus
    texts[-1] = "x" * (text_chars - surplus)
    body = json.dumps({"texts": texts}).encode()
    assert len(body) == size
    return body


def test_oversized_body_is_400_before_parsing(post_as_analyst):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    error = error_of(post_as_analyst(body_of_size(limit + 1)), 400)
    assert error["code"] == "request_too_large"
    assert error["detail"] == f"Request body is {limit + 1} bytes; the limit is {limit} bytes."


def test_body_exactly_at_the_limit_is_accepted(post_as_analyst):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = post_as_analyst(body_of_size(limit), expect_written=True)
    assert response.status_code == 202, response.content[:300]


def test_oversized_garbage_is_refused_for_its_size_not_parsed(post_as_analyst):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    error = error_of(post_as_analyst(b"\xff" * (limit + 10)), 400)
    assert error["code"] == "request_too_large"


def test_parser_does_not_trust_a_short_content_length():
    # A body longer than it claims (or with no length) is still cut at the limit.
    class FakeRequest:
        META = {"CONTENT_LENGTH": "10"}

    stream = io.BytesIO(b'{"texts": ["' + b"x" * 100 + b'"]}')
    with (
        override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=50),
        pytest.raises(RequestBodyTooLarge),
    ):
        BoundedJSONParser().parse(stream, JSON, {"request": FakeRequest()})


def test_parser_reads_a_body_within_the_limit():
    data = BoundedJSONParser().parse(io.BytesIO(b'{"texts": ["a"]}'), JSON, {})
    assert data == {"texts": ["a"]}
    with pytest.raises(ParseError):
        BoundedJSONParser().parse(io.BytesIO(b'{"texts": Infinity}'), JSON, {})
