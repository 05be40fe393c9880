"""The page for the person on the file: with the access code from their notice and their
SSN they open what the file holds about them, every disclosure of it, their notices, and
file a dispute (of a death) or a contest (of a determination) with their evidence.

No staff key: a signed cookie for one person, for half an hour, scoped to these pages. The
rules (codes, what is shown, what opens a case) are `cases.access`'s.
"""

import secrets
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from vitalfile.cases.access import PAGE, Attempts, file_challenge, open_with_code
from vitalfile.cases.review import person_name
from vitalfile.console.session import csrf_token, read_session, sign_session
from vitalfile.disclosure.access import Forbidden, Unauthenticated
from vitalfile.errors import InputError, PolicyError
from vitalfile.overview.record import own_record
from vitalfile.service.pool import StoreDep, flush_answers
from vitalfile.settings import ApiSettings
from vitalfile.ssn import parse as parse_ssn

__all__ = ["mount_person_pages"]

COOKIE = "vf_person"
PATH = PAGE


def mount_person_pages(app: FastAPI, settings: ApiSettings, templates: Jinja2Templates) -> None:
    secret = (settings.session_secret or secrets.token_hex(32)).encode() + b"/person"
    attempts = Attempts()
    router = APIRouter(prefix=PATH, include_in_schema=False)

    def render(
        request: Request, template_name: str, status: int = 200, **ctx: object
    ) -> HTMLResponse:
        ctx.update(user=None, nav=[], home=PATH, path=request.url.path, csrf=ctx.get("csrf", ""))
        return templates.TemplateResponse(request, template_name, ctx, status_code=status)

    def person_of(request: Request) -> tuple[int, str]:
        cookie = request.cookies.get(COOKIE, "")
        who = read_session(secret, cookie) if cookie else None
        if who is None or not who.startswith("person:"):
            raise Unauthenticated("open your record with the code from your notice")
        return int(who.split(":", 1)[1]), csrf_token(secret, cookie)

    @router.get("", response_class=HTMLResponse)
    def code_form(request: Request) -> HTMLResponse:
        return render(request, "my_code.html", message="")

    @router.post("", response_class=HTMLResponse)
    def open_record(
        request: Request,
        store: StoreDep,
        code: Annotated[str, Form()] = "",
        ssn: Annotated[str, Form()] = "",
    ) -> Response:
        client = request.client.host if request.client else "?"
        try:
            attempts.check(client)
            pid = open_with_code(store, code, parse_ssn(ssn, field="ssn"))
        except (PolicyError, InputError) as exc:  # a refused code: one message, nothing else
            return render(request, "my_code.html", status=403, message=exc.message)
        resp = RedirectResponse(f"{PATH}/view", status_code=303)
        resp.set_cookie(
            COOKIE,
            sign_session(secret, f"person:{pid}", 0, seconds=1800),
            httponly=True,
            samesite="strict",
            max_age=1800,
            path=PATH,
        )
        return resp

    @router.get("/view", response_class=HTMLResponse)
    def view(
        request: Request, store: StoreDep, filed: Annotated[str, Query(max_length=80)] = ""
    ) -> HTMLResponse:
        pid, csrf = person_of(request)
        flush_answers(request)
        rec = own_record(store, pid)
        return render(
            request,
            "my_record.html",
            rec=rec,
            name=person_name(rec["fields"]),
            csrf=csrf,
            filed=filed,
        )

    @router.post("/challenge")
    def challenge(
        request: Request,
        store: StoreDep,
        what: Annotated[str, Form()],
        ground: Annotated[str, Form()] = "",
        evidence: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        pid, token = person_of(request)
        if not secrets.compare_digest(csrf, token):
            raise Forbidden("the form is stale; reload the page")
        case_id = file_challenge(
            store,
            pid,
            what=what,
            ground=ground,
            evidence=[e.strip() for e in evidence.splitlines() if e.strip()],
        )
        return RedirectResponse(f"{PATH}/view?filed={case_id}", status_code=303)

    @router.post("/close")
    def close() -> Response:
        resp = RedirectResponse(PATH, status_code=303)
        resp.delete_cookie(COOKIE, path=PATH)
        return resp

    app.include_router(router)
