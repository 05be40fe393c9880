"""The console's pages: sign-in, review queue (with each held report's explanation and
waterfall), a person's timeline as of a date, the dispute and resurrection flow,
determinations with their deadlines, and the accounting of disclosures for a person.

Each page is a library call and a template; permissions are `access.require`, as in the API.
"""

import logging
import secrets
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from vitalfile.api.deps import StoreDep, flush_answers
from vitalfile.api.errors import status_for
from vitalfile.api.routes.cases import case_public
from vitalfile.api.routes.determinations import determination_public
from vitalfile.api.routes.people import as_of_seq, status_public, timeline
from vitalfile.api.settings import ApiSettings
from vitalfile.cases.determinations import list_determinations
from vitalfile.cases.framework import decide, get_case, list_cases, open_dispute
from vitalfile.console.session import csrf_token, read_session, sign_session
from vitalfile.disclosure.access import (
    Forbidden,
    Principal,
    Unauthenticated,
    authenticate,
    may,
    principal_of_key,
    require,
)
from vitalfile.disclosure.accounting import accounting
from vitalfile.errors import NotFound, UsageError, VitalfileError
from vitalfile.ledger.store import Store
from vitalfile.master.projection import find_person_ids, status_of
from vitalfile.ssn import parse as parse_ssn

__all__ = ["mount_console"]

HERE = Path(__file__).parent
log = logging.getLogger("vitalfile.console")
COOKIE = "vf_session"


def _person_ssn(store: Store, person_id: int) -> str:
    rows = store.query("SELECT ssn FROM persons WHERE person_id = ?", [person_id])
    if not rows:
        raise NotFound("no such person")
    return str(rows[0][0])


class Explainer:
    """The linkage model's explanation of a held report, and its waterfall as SVG; kept
    per (report, ledger head) so the page and its chart are scored once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._linker: Any = None
        self._cache: dict[tuple[str, int], dict[str, Any]] = {}

    def explain(self, store: Store, report_key: str) -> dict[str, Any]:
        head = store.head()
        key = (report_key, head.last_seq if head else 0)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            out: dict[str, Any] = {"lines": [], "weights": [], "svg": None, "error": None}
            try:
                from vitalfile.link.explain import explain_report
                from vitalfile.link.splink_linker import SplinkLinker

                if self._linker is None:
                    self._linker = SplinkLinker()
                expl = explain_report(store, report_key, linker=self._linker, chart=True)
                out["lines"] = list(expl.lines)
                out["probability"] = expl.result.probability
                out["weights"] = sorted(expl.result.weights.items())
                if expl.chart is not None:
                    try:
                        import vl_convert as vlc

                        out["svg"] = vlc.vegalite_to_svg(expl.chart)
                    except Exception:  # no renderer: the table below stands in
                        out["svg"] = None
            except VitalfileError as exc:
                out["error"] = exc.message
            except ImportError:
                out["error"] = "the linkage model is not installed"
            except Exception as exc:  # the page still shows the case and the held reason
                log.warning("explaining %s failed: %s", report_key, type(exc).__name__)
                out["error"] = f"the model could not score this report ({type(exc).__name__})"
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = out
            return out


def mount_console(app: FastAPI, settings: ApiSettings) -> None:
    secret = (settings.session_secret or secrets.token_hex(32)).encode()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    explainer = Explainer()
    router = APIRouter(prefix="/console", include_in_schema=False)

    def user(request: Request, store: StoreDep) -> Principal:
        cookie = request.cookies.get(COOKIE, "")
        key_id = read_session(secret, cookie) if cookie else None
        if key_id is None:
            raise Unauthenticated("please sign in")
        p = principal_of_key(store, key_id)
        if not p.is_staff:
            raise Unauthenticated("please sign in with a staff key")
        request.state.user = p
        request.state.csrf = csrf_token(secret, cookie)
        return p

    User = Annotated[Principal, Depends(user)]

    def check_csrf(request: Request, token: str) -> None:
        if not secrets.compare_digest(token, getattr(request.state, "csrf", "")):
            raise Forbidden("the form is stale or came from elsewhere; reload the page")

    def page(request: Request, name: str, http_status: int = 200, **ctx: Any) -> HTMLResponse:
        p: Principal | None = getattr(request.state, "user", None)
        ctx.update(
            user=p,
            csrf=getattr(request.state, "csrf", ""),
            can=(lambda action: p is not None and may(p, action)),
        )
        return templates.TemplateResponse(request, name, ctx, status_code=http_status)

    def html_error(request: Request, exc: VitalfileError) -> Response:
        if isinstance(exc, Unauthenticated):
            return RedirectResponse("/console/signin", status_code=303)
        status = status_for(exc)
        return page(request, "error.html", http_status=status, error=exc, status_code=status)

    app.state.html_error = html_error

    # ── signing in and out ───────────────────────────────────────────────────────────
    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request) -> HTMLResponse:
        return page(request, "signin.html", message=None)

    @router.post("/signin", response_class=HTMLResponse)
    def signin(request: Request, store: StoreDep, key: Annotated[str, Form()] = "") -> Response:
        try:
            p = authenticate(store, key.strip())
        except Unauthenticated:
            p = None
        if p is None or not p.is_staff:
            return page(request, "signin.html", http_status=401, message="unknown or revoked key")
        resp = RedirectResponse("/console/queue", status_code=303)
        resp.set_cookie(
            COOKIE,
            sign_session(secret, p.key_id, settings.session_hours),
            httponly=True,
            samesite="strict",
            max_age=settings.session_hours * 3600,
            path="/console",
        )
        return resp

    @router.post("/signout")
    def signout() -> Response:
        resp = RedirectResponse("/console/signin", status_code=303)
        resp.delete_cookie(COOKIE, path="/console")
        return resp

    @router.get("/", response_class=HTMLResponse)
    def home(me: User) -> Response:
        return RedirectResponse("/console/queue", status_code=303)

    # ── review queue and cases ───────────────────────────────────────────────────────
    @router.get("/queue", response_class=HTMLResponse)
    def queue(
        request: Request,
        me: User,
        store: StoreDep,
        kind: Annotated[str, Query(max_length=30)] = "",
    ) -> HTMLResponse:
        require(me, "cases.read")
        cases = [
            case_public(c) for c in list_cases(store, kind=kind or None, state="open", limit=500)
        ]
        return page(request, "queue.html", cases=cases, kind=kind, today=date.today())

    @router.get("/cases/{case_id:path}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, me: User, store: StoreDep) -> HTMLResponse:
        require(me, "cases.read")
        c = case_public(get_case(store, case_id))
        expl = None
        reports = store.query(
            "SELECT report_key, source_kind, first_name, last_name, dob, dod, death_state "
            "FROM reports WHERE report_key = ?",
            [c.about],
        )
        if reports and c.kind == "review":
            expl = explainer.explain(store, c.about)
        person = None
        if c.person_id is not None:
            st = status_of(store, c.person_id)
            if st.person is not None:
                person = {"state": status_public(st, None), "fields": st.person}
        return page(
            request,
            "case.html",
            case=c,
            report=reports[0] if reports else None,
            expl=expl,
            person=person,
        )

    @router.get("/chart.svg")
    def chart(
        case_id: Annotated[str, Query(max_length=300)], me: User, store: StoreDep
    ) -> Response:
        require(me, "cases.read")
        c = get_case(store, case_id)
        svg = explainer.explain(store, c.about).get("svg")
        if not svg:
            raise NotFound("no waterfall chart for this case")
        return Response(svg, media_type="image/svg+xml")

    @router.post("/decide", response_class=HTMLResponse)
    def decide_case(
        request: Request,
        me: User,
        store: StoreDep,
        case_id: Annotated[str, Form()],
        decision: Annotated[str, Form()],
        reason: Annotated[str, Form()] = "",
        evidence: Annotated[str, Form()] = "",
        person_id: Annotated[str, Form()] = "",
        finding: Annotated[str, Form()] = "not-this-person",
        csrf: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        check_csrf(request, csrf)
        require(me, "cases.decide")
        if person_id.strip() and not person_id.strip().isdigit():
            raise UsageError("person must be a person id (digits)", field="person_id")
        result = decide(
            store,
            case_id,
            decision,
            reviewer=me.name,
            reason=reason.strip(),
            evidence=[e.strip() for e in evidence.splitlines() if e.strip()],
            person_id=int(person_id) if person_id.strip() else None,
            finding=finding,
        )
        return page(
            request, "decided.html", result=result, case=case_public(get_case(store, case_id))
        )

    # ── people ───────────────────────────────────────────────────────────────────────
    @router.post("/find")
    def find(
        request: Request,
        me: User,
        store: StoreDep,
        ssn: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf)
        require(me, "people.read")
        ids = find_person_ids(store, parse_ssn(ssn, field="ssn"))
        if not ids:
            raise NotFound("no person with this SSN on file", field="ssn")
        return RedirectResponse(f"/console/people/{ids[0]}", status_code=303)

    @router.get("/people/{person_id}", response_class=HTMLResponse)
    def person_page(
        request: Request,
        person_id: int,
        me: User,
        store: StoreDep,
        as_of: Annotated[str, Query(max_length=32)] = "",
    ) -> HTMLResponse:
        require(me, "people.read")
        tl = timeline(store, person_id, as_of or None)
        st = status_of(store, person_id, upto_seq=as_of_seq(store, as_of or None))
        cases = [case_public(c) for c in list_cases(store, person_id=person_id, state=None)]
        dets = [determination_public(d) for d in list_determinations(store, person_id=person_id)]
        return page(
            request,
            "person.html",
            person_id=person_id,
            fields=st.person or {},
            status=status_public(st, as_of or None) if st.person else None,
            timeline=tl,
            as_of=as_of,
            cases=cases,
            determinations=dets,
        )

    @router.post("/disputes")
    def dispute(
        request: Request,
        me: User,
        store: StoreDep,
        person_id: Annotated[int, Form()],
        evidence: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "the person says they are alive",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf)
        require(me, "disputes.open")
        cid = open_dispute(
            store,
            _person_ssn(store, person_id),
            evidence=[e.strip() for e in evidence.splitlines() if e.strip()],
            reason=reason.strip() or "the person says they are alive",
            opened_by=me.name,
        )
        return RedirectResponse(f"/console/cases/{cid}", status_code=303)

    @router.get("/people/{person_id}/accounting", response_class=HTMLResponse)
    def accounting_page(
        request: Request,
        person_id: int,
        me: User,
        store: StoreDep,
        as_of: Annotated[str, Query(max_length=32)] = "",
    ) -> HTMLResponse:
        require(me, "accounting.read")
        flush_answers(request)
        rows = accounting(
            store, _person_ssn(store, person_id), upto_seq=as_of_seq(store, as_of or None)
        )
        rows = [r for r in rows if r["person_id"] == person_id]
        return page(request, "accounting.html", person_id=person_id, rows=rows, as_of=as_of)

    # ── determinations ───────────────────────────────────────────────────────────────
    @router.get("/determinations", response_class=HTMLResponse)
    def determinations_page(
        request: Request,
        me: User,
        store: StoreDep,
        state: Annotated[str, Query(max_length=30)] = "",
    ) -> HTMLResponse:
        require(me, "determinations.read")
        dets = [determination_public(d) for d in list_determinations(store, state=state or None)]
        return page(
            request, "determinations.html", dets=dets, state=state, today=date.today().isoformat()
        )

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
