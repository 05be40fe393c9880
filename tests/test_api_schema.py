"""schemathesis over the published OpenAPI document, in-process: no 5xx, no response outside
its documented schema and status codes, on every route, as a supervisor and as a recipient."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.api_world import build_world
from vitalfile.api import create_app
from vitalfile.ledger.checkpoint import init_key

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

_DIR = Path(__import__("tempfile").mkdtemp(prefix="vf-schema-"))
WORLD = build_world(str(_DIR / "schema.duckdb"), _DIR / "work")
init_key(_DIR / "keeper.pem")  # /readyz is 503 without one
APP = create_app(WORLD.settings(max_upload_bytes=1_000_000, key_path=_DIR / "keeper.pem"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.parametrize("who", ["supervisor", "bank"])
def test_api_conforms_to_its_schema(case: schemathesis.Case, who: str) -> None:
    # Every check runs but one: "a schema-valid request is accepted" cannot hold for a file
    # body (any string fits `type: string`, few are a DMF file) nor for the rules a schema
    # cannot say (a dispute of a living person, an SSN area never issued): those are 400/422
    # by design, documented on every route.
    # A case generated without its Authorization header (a negative case) is sent without
    # one (401 is documented); otherwise the generated token is replaced by a real key.
    if case.headers and "authorization" in case.headers:  # case-insensitive
        case.headers["Authorization"] = f"Bearer {WORLD.keys[who]}"
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    SEEN.append(response.status_code)


SEEN: list[int] = []


def test_schema_cases_reached_the_routes() -> None:
    # runs after the cases above (file order): most were authenticated, many succeeded
    assert SEEN, "no schemathesis case ran"
    assert sum(1 for s in SEEN if s != 401) > len(SEEN) // 2
    assert any(200 <= s < 300 for s in SEEN)
