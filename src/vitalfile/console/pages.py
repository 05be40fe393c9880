"""The staff console's pages: sign-in, each role's home (intake: submit a file; reviewer:
the queue; supervisor: assignments, keys, agreements, corrections; auditor: accounting,
refusals, the ledger verified), cases with the report beside each candidate and a confirm
step before a death is posted, a person's time line as of a date, determinations, and a
dashboard per role.

Each page parses, calls the library and renders; the rules (who may decide, a stale case,
what a decision does) are the library's. Permissions are `access.require`, as in the API,
whose routes this module never imports.
"""

import logging
import secrets
import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from vitalfile.cases.access import PAGE, print_notice
from vitalfile.cases.decide import decide, submitter_of
from vitalfile.cases.determinations import list_determinations
from vitalfile.cases.framework import CaseState, get_case, list_cases, open_dispute
from vitalfile.cases.review import ReviewSheet, describe, person_name, review_sheet
from vitalfile.console.session import csrf_token, read_session, sign_session
from vitalfile.disclosure.access import (
    Forbidden,
    Principal,
    Unauthenticated,
    authenticate,
    list_keys,
    may,
    principal_of_key,
    require,
)
from vitalfile.disclosure.accounting import accounting
from vitalfile.errors import NotFound, UsageError, VitalfileError
from vitalfile.ledger.store import Store
from vitalfile.master.lookup import ssn_of
from vitalfile.master.projection import find_person_ids, load_people, status_of
from vitalfile.overview import charts, figures
from vitalfile.overview.timeline import history, marks, seq_as_of
from vitalfile.service.errors import status_for
from vitalfile.service.pool import StoreDep, flush_answers
from vitalfile.settings import ApiSettings
from vitalfile.ssn import parse as parse_ssn

__all__ = ["HOMES", "mount_console"]

HERE = Path(__file__).parent
log = logging.getLogger("vitalfile.console")
COOKIE = "vf_session"
# each role's home: the page it lands on after signing in
HOMES = {
    "intake": "/console/submit",
    "reviewer": "/console/queue",
    "supervisor": "/console/supervise",
    "auditor": "/console/audit",
}
# the navigation: (label, href, the permission needed to open it)
NAV = (
    ("Submit a file", "/console/submit", "reports.ingest"),
    ("Review queue", "/console/queue", "cases.read"),
    ("Determinations", "/console/determinations", "determinations.read"),
    ("Supervision", "/console/supervise", "cases.assign"),
    ("Audit", "/console/audit", "accounting.read"),
    ("Dashboard", "/console/dashboard", ""),
)
SOURCE_KINDS = ("funeral_home", "family", "financial", "federal_agency", "state")


def _lines(text: str) -> list[str]:
    return [e.strip() for e in text.splitlines() if e.strip()]


class SheetCache:
    """Review sheets kept per (case, ledger head): the model scores a report once per page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], ReviewSheet | None] = {}

    def get(self, store: Store, case: CaseState) -> ReviewSheet | None:
        head = store.head()
        key = (case.case_id, head.last_seq if head else 0)
        with self._lock:
            if key not in self._cache:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[key] = review_sheet(store, case)
            return self._cache[key]


def decisions_for(case: CaseState) -> list[tuple[str, str]]:
    """The decisions a case may take, in words (none preselected on the page)."""
    if case.kind == "review" and not case.about.startswith("death:"):
        return [
            ("link", "link the report to the person (their death is posted)"),
            ("reject", "reject: the report is not about this person"),
            ("note", "add a note (the case stays open)"),
        ]
    if case.kind in ("review", "dispute"):
        return [
            ("retract", "retract the death: the person is alive"),
            ("uphold", "uphold the death"),
            ("note", "add a note (the case stays open)"),
        ]
    if case.kind == "determination":
        return [
            ("propose", "propose the determination"),
            ("withdraw", "withdraw it"),
            ("uphold", "uphold it"),
            ("note", "add a note (the case stays open)"),
        ]
    return [
        ("grant", "grant the request"),
        ("refuse", "refuse the request"),
        ("note", "add a note (the case stays open)"),
    ]


def mount_console(app: FastAPI, settings: ApiSettings) -> None:
    secret = (settings.session_secret or secrets.token_hex(32)).encode()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    sheets = SheetCache()
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

    def find_by_ssn(action: str, suffix: str) -> Callable[..., Response]:
        """A form that names an SSN: to the page (`suffix` below theirs) of the person on
        file with it, for a user whose role may do `action`."""

        def find(
            request: Request,
            me: User,
            store: StoreDep,
            ssn: Annotated[str, Form()],
            csrf: Annotated[str, Form()] = "",
        ) -> Response:
            check_csrf(request, csrf)
            require(me, action)
            ids = find_person_ids(store, parse_ssn(ssn, field="ssn"))
            if not ids:
                raise NotFound("no person with this SSN on file", field="ssn")
            return RedirectResponse(f"/console/people/{ids[0]}{suffix}", status_code=303)

        return find

    def page(
        request: Request, template_name: str, http_status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        p: Principal | None = getattr(request.state, "user", None)

        def can(action: str) -> bool:
            return p is not None and (not action or may(p, action))

        ctx.update(
            user=p,
            csrf=getattr(request.state, "csrf", ""),
            can=can,
            nav=[(label, href) for label, href, perm in NAV if can(perm)] if p else [],
            home=HOMES.get(p.role, "/console/dashboard") if p else "/console/signin",
            path=request.url.path,
        )
        return templates.TemplateResponse(request, template_name, ctx, status_code=http_status)

    def html_error(request: Request, exc: VitalfileError) -> Response:
        if isinstance(exc, Unauthenticated) and not request.url.path.startswith(
            "/console/my-record"
        ):
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
        token = key.strip()
        message = ""
        p: Principal | None = None
        if not token:
            message = "Enter your staff key."
        else:
            try:
                p = authenticate(store, token)
            except Unauthenticated:
                message = (
                    "This key is not on file or has been revoked. Check it for a typo, or ask "
                    "a supervisor for a new staff key."
                )
            if p is not None and not p.is_staff:
                message = (
                    f"This is a recipient's key (for {p.recipient}), not a staff key: "
                    "recipients use the API. Sign in with your own staff key."
                )
        if p is None or message:
            return page(request, "signin.html", http_status=401, message=message)
        resp = RedirectResponse(HOMES.get(p.role, "/console/dashboard"), status_code=303)
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
        return RedirectResponse(HOMES.get(me.role, "/console/dashboard"), status_code=303)

    # ── intake: submit a file, see what it became ────────────────────────────────────
    def my_submissions(store: Store, me: Principal) -> list[dict[str, Any]]:
        from vitalfile.intake.reports import submissions

        return submissions(store, me.name)

    @router.get("/submit", response_class=HTMLResponse)
    def submit_form(request: Request, me: User, store: StoreDep) -> HTMLResponse:
        require(me, "reports.ingest")
        return page(
            request,
            "submit.html",
            kinds=SOURCE_KINDS,
            result=None,
            mine=my_submissions(store, me),
        )

    @router.post("/submit", response_class=HTMLResponse)
    async def submit(
        request: Request,
        me: User,
        store: StoreDep,
        file: Annotated[UploadFile, File()],
        source_kind: Annotated[str, Form()],
        source_id: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        from starlette.concurrency import run_in_threadpool

        from vitalfile.intake.reports import ingest_file

        check_csrf(request, csrf)
        require(me, "reports.ingest")
        if source_kind not in SOURCE_KINDS:
            raise UsageError("choose who sent the file", field="source_kind")
        data = await file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise UsageError("the file is too large for the console; use the API", field="file")
        name = Path(file.filename or "upload.csv").name
        sid = source_id.strip() or Path(name).stem

        def run() -> Any:
            with tempfile.TemporaryDirectory(prefix="vf-console-") as tmp:
                path = Path(tmp) / name
                path.write_bytes(data)
                return ingest_file(
                    store,
                    path,
                    source_kind=source_kind,
                    source_id=sid,
                    rejects_path=Path(tmp) / "rejects.csv",
                    submitted_by=me.name,
                )

        result = await run_in_threadpool(run)
        return page(
            request,
            "submit.html",
            kinds=SOURCE_KINDS,
            result=result,
            name=name,
            mine=my_submissions(store, me),
        )

    # ── review queue and cases ───────────────────────────────────────────────────────
    @router.get("/queue", response_class=HTMLResponse)
    def queue(
        request: Request,
        me: User,
        store: StoreDep,
        kind: Annotated[str, Query(max_length=30)] = "",
        group: Annotated[str, Query(max_length=40)] = "",
        overdue: Annotated[str, Query(max_length=5)] = "",
        owner: Annotated[str, Query(max_length=100)] = "",
    ) -> HTMLResponse:
        require(me, "cases.read")
        rows, late = figures.queue(
            store,
            kind=kind or None,
            group=group,
            overdue_only=bool(overdue),
            owner=owner.strip(),
        )
        groups = [g for g, _ in figures.REASON_GROUPS] + ["other"]
        return page(
            request,
            "queue.html",
            rows=rows,
            overdue_count=late,
            kind=kind,
            group=group,
            overdue=bool(overdue),
            owner=owner,
            groups=groups,
            kinds=("review", "dispute", "determination", "disclosure_request"),
        )

    def case_context(store: Store, me: Principal, c: CaseState) -> dict[str, Any]:
        sheet = sheets.get(store, c) if c.kind == "review" else None
        person = None
        if c.person_id is not None:
            st = status_of(store, c.person_id)
            if st.person is not None:
                person = {"fields": st.person, "name": person_name(st.person), "death": st.death}
        submitter = submitter_of(store, c)
        return {
            "case": c,
            "overdue": c.overdue(date.today()),
            "sheet": sheet,
            "waterfalls": [
                charts.waterfall(
                    cs.bars(),
                    title=f"Match weights, report against {cs.name or cs.person_id}",
                    total_label="total",
                )
                for cs in (sheet.candidates if sheet else [])
                if cs.total is not None
            ],
            "person": person,
            "decisions": decisions_for(c),
            "submitter": submitter,
            "own_case": bool(submitter) and submitter == me.name,
        }

    @router.get("/cases/{case_id:path}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, me: User, store: StoreDep) -> HTMLResponse:
        require(me, "cases.read")
        return page(request, "case.html", **case_context(store, me, get_case(store, case_id)))

    @router.post("/decide", response_class=HTMLResponse)
    def decide_case(
        request: Request,
        me: User,
        store: StoreDep,
        case_id: Annotated[str, Form()],
        version: Annotated[int, Form()],
        decision: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        evidence: Annotated[str, Form()] = "",
        person_id: Annotated[str, Form()] = "",
        finding: Annotated[str, Form()] = "",
        override: Annotated[str, Form()] = "",
        confirmed: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        check_csrf(request, csrf)
        require(me, "cases.decide")
        c = get_case(store, case_id)
        if not decision:
            ctx = case_context(store, me, c)
            return page(
                request, "case.html", http_status=400, form_error="Choose a decision.", **ctx
            )
        pid = person_id.strip()
        if pid and not pid.isdigit():
            raise UsageError("person must be a person id (digits)", field="person_id")
        kwargs: dict[str, Any] = {
            "reviewer": me.name,
            "reason": reason.strip(),
            "evidence": _lines(evidence),
            "person_id": int(pid) if pid else None,
            "finding": finding or "not-this-person",
            "expected_version": version,
        }
        sheet = sheets.get(store, c) if c.kind == "review" else None
        protective = sheet.protective if sheet else ""
        if not pid and c.person_id is None and sheet and sheet.candidates:
            kwargs["person_id"] = pid_int = sheet.candidates[0].person_id  # the best candidate
            pid = str(pid_int)
        if decision == "link" and c.kind == "review":
            preview = decide(store, case_id, decision, preview=True, **kwargs)
            form = {
                "case_id": case_id,
                "version": version,
                "decision": decision,
                "reason": reason,
                "evidence": evidence,
                "person_id": pid,
                "finding": finding,
            }

            def confirm(error: str = "") -> HTMLResponse:
                return page(
                    request,
                    "confirm.html",
                    http_status=400 if error else 200,
                    case=c,
                    changes=describe(store, preview.appended),
                    protective=protective,
                    form=form,
                    override=override,
                    form_error=error,
                )

            if not confirmed:
                return confirm()
            try:
                result = decide(store, case_id, decision, override=override, **kwargs)
            except UsageError as exc:
                if exc.context.get("field") != "override":
                    raise
                return confirm(exc.message)
        else:
            result = decide(store, case_id, decision, **kwargs)
        return page(
            request,
            "decided.html",
            result=result,
            case=get_case(store, case_id),
            changes=describe(store, result.appended),
        )

    # ── people ───────────────────────────────────────────────────────────────────────
    router.post("/find", name="find")(find_by_ssn("people.read", ""))

    @router.get("/people/{person_id}", response_class=HTMLResponse)
    def person_page(
        request: Request,
        person_id: int,
        me: User,
        store: StoreDep,
        as_of: Annotated[str, Query(max_length=32)] = "",
    ) -> HTMLResponse:
        require(me, "people.read")
        entries = history(store, person_id, as_of)
        st = status_of(store, person_id, upto_seq=seq_as_of(store, as_of))
        cases = list_cases(store, person_id=person_id, state=None)
        dets = list_determinations(store, person_id=person_id)
        days = sorted({e.at[:10] for e in entries if e.at})
        return page(
            request,
            "person.html",
            person_id=person_id,
            fields=st.person or {},
            name=person_name(st.person),
            death=st.death,
            entries=entries,
            picture=charts.timeline(
                marks(entries, person_id),
                title=f"Time line of person {person_id}",
                as_of=as_of,
            ),
            days=days,
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
            ssn_of(store, person_id),
            evidence=_lines(evidence),
            reason=reason.strip() or "the person says they are alive",
            opened_by=me.name,
        )
        target = (
            f"/console/cases/{cid}" if may(me, "cases.read") else f"/console/people/{person_id}"
        )
        return RedirectResponse(target, status_code=303)

    @router.post("/people/{person_id}/notice", response_class=HTMLResponse)
    def notice_page(
        request: Request,
        person_id: int,
        me: User,
        store: StoreDep,
        csrf: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        check_csrf(request, csrf)
        require(me, "cases.decide")
        page_url = str(request.base_url).rstrip("/") + PAGE
        notice = print_notice(store, person_id=person_id, page=page_url)
        return page(request, "notice.html", notice=notice)

    def accounting_rows(store: Store, person_id: int, as_of: str) -> list[dict[str, Any]]:
        rows = accounting(store, ssn_of(store, person_id), upto_seq=seq_as_of(store, as_of))
        return [r for r in rows if r["person_id"] == person_id]

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
        people = load_people(store, [person_id])
        st = people.get(person_id)
        return page(
            request,
            "accounting.html",
            person_id=person_id,
            name=person_name(st.person if st else None),
            rows=accounting_rows(store, person_id, as_of),
            as_of=as_of,
        )

    # ── determinations ───────────────────────────────────────────────────────────────
    @router.get("/determinations", response_class=HTMLResponse)
    def determinations_page(
        request: Request,
        me: User,
        store: StoreDep,
        state: Annotated[str, Query(max_length=30)] = "",
    ) -> HTMLResponse:
        require(me, "determinations.read")
        dets = list_determinations(store, state=state or None)
        return page(
            request, "determinations.html", dets=dets, state=state, today=date.today().isoformat()
        )

    # ── supervisor and auditor homes ─────────────────────────────────────────────────
    @router.get("/supervise", response_class=HTMLResponse)
    def supervise(request: Request, me: User, store: StoreDep) -> HTMLResponse:
        require(me, "cases.assign")
        from vitalfile.disclosure.distribute import pending_corrections

        rows, late = figures.queue(store)
        return page(
            request,
            "supervise.html",
            rows=rows,
            overdue_count=late,
            keys=list_keys(store),
            agreements=figures.agreements(store),
            pending=pending_corrections(store),
            today=date.today().isoformat(),
        )

    @router.post("/assign")
    def assign_case(
        request: Request,
        me: User,
        store: StoreDep,
        case_id: Annotated[str, Form()],
        owner: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        from vitalfile.cases.framework import assign

        check_csrf(request, csrf)
        require(me, "cases.assign")
        if not owner.strip():
            raise UsageError("name the owner", field="owner")
        assign(store, case_id, owner.strip())
        return RedirectResponse("/console/supervise#assignments", status_code=303)

    @router.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, me: User, store: StoreDep) -> HTMLResponse:
        require(me, "accounting.read")
        from vitalfile.ledger.verify import verify_latest

        flush_answers(request)
        report, cp = verify_latest(store, settings.work_dir, settings.key_path)
        return page(
            request,
            "audit.html",
            refusals=figures.refusals(store),
            report=report,
            checkpoint=cp,
        )

    router.post("/audit/accounting", name="audit_find")(
        find_by_ssn("accounting.read", "/accounting")
    )

    # ── dashboard ────────────────────────────────────────────────────────────────────
    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, me: User, store: StoreDep) -> HTMLResponse:
        flush_answers(request)
        shown: list[dict[str, Any]] = []
        if may(me, "cases.read") or may(me, "reports.ingest"):
            over = figures.queue_over_time(store)
            shown.append(
                {
                    "title": "Open cases at the end of each week",
                    "svg": charts.bars(
                        [(w["week"][5:], w["open"]) for w in over],
                        title="Open cases at the end of each week",
                    ),
                    "head": ("week ending", "open cases", "mean age (days)"),
                    "rows": [(w["week"], w["open"], w["mean_age"]) for w in over],
                }
            )
            shown.append(
                {
                    "title": "Mean age of the open cases (days) at the end of each week",
                    "svg": charts.bars(
                        [(w["week"][5:], w["mean_age"]) for w in over],
                        title="Mean age of the open cases, in days",
                        unit="days",
                    ),
                    "head": ("week ending", "mean age (days)"),
                    "rows": [(w["week"], w["mean_age"]) for w in over],
                }
            )
            groups, weeks = figures.held_by_week(store)
            shown.append(
                {
                    "title": "Reports held for review, by reason and week",
                    "svg": charts.stacked(
                        [(w[5:], v) for w, v in weeks],
                        series=groups or ["held"],
                        title="Reports held for review, by reason and week",
                    ),
                    "head": ("week ending", *groups),
                    "rows": [(w, *v) for w, v in weeks],
                }
            )
        deaths = figures.deaths_by_source(store)
        shown.append(
            {
                "title": "Deaths on file by first source and level (V verified, P not)",
                "svg": charts.stacked(
                    [(s, [v, p]) for s, v, p in deaths],
                    series=["V", "P"],
                    title="Deaths on file by first source and level",
                ),
                "head": ("source", "V", "P"),
                "rows": deaths,
            }
        )
        if may(me, "corrections.read"):
            corr = figures.corrections(store)
            shown.append(
                {
                    "title": "Corrections after retractions, by recipient",
                    "svg": charts.stacked(
                        [(r, [p, d]) for r, p, d in corr],
                        series=["pending", "delivered"],
                        title="Corrections after retractions, by recipient",
                    ),
                    "head": ("recipient", "pending", "delivered"),
                    "rows": corr,
                }
            )
        if may(me, "accounting.read"):
            channels, recs = figures.disclosures_by_recipient(store)
            shown.append(
                {
                    "title": "Records disclosed, by recipient and channel",
                    "svg": charts.stacked(
                        recs, series=channels or ["none"], title="Records disclosed"
                    ),
                    "head": ("recipient", *channels),
                    "rows": [(r, *v) for r, v in recs],
                }
            )
        return page(request, "dashboard.html", charts=shown)

    app.include_router(router)
    from vitalfile.console.person import mount_person_pages

    mount_person_pages(app, settings, templates)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
