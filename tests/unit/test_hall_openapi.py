"""The OpenAPI document (hall/openapi.yaml, served at /openapi.json) describes every route of
the app, and what the hall really answers matches the documented schemas."""
import yaml

from hall.app import OPENAPI_PATH, create_app
from tests.hall.common import BOOKING, COMPLAINT, CONSULTATION, H, KEY, MONDAY, TUESDAY
from tests.hall.openapi_check import problems, resolve, response_schema

pytest_plugins = ["tests.hall.plugin"]
DOC = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
METHODS = {"get", "post", "patch", "delete", "put"}


def registered_routes(app) -> set[tuple[str, str]]:
    return {(r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}


def documented_routes() -> set[tuple[str, str]]:
    return {(m, path) for path, ops in DOC["paths"].items() for m in ops if m in METHODS}


def test_every_registered_route_is_documented_and_nothing_else(tmp_path):
    app = create_app(tmp_path / "hall.db", KEY)
    routes = registered_routes(app)
    assert len(routes) == 22
    assert routes - documented_routes() == set(), "routes missing from hall/openapi.yaml"
    assert documented_routes() - routes == set(), "documented routes the app does not serve"


def test_the_document_is_well_formed():
    assert DOC["openapi"].startswith("3.")
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(DOC)
    for ref in refs:
        assert resolve(DOC, ref), ref                                  # every $ref resolves
    for path, ops in DOC["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("responses"), f"{method} {path}"
            public = op.get("security") == []
            assert public == (path in ("/healthz", "/openapi.json", "/metrics")), f"{method} {path}: security"
            if path.startswith("/api/"):
                assert "401" in op["responses"], f"{method} {path}: 401 not documented"
            if method == "post" and path.endswith(("consultations", "complaints", "appointments", "opinions")):
                names = [p.get("name") or resolve(DOC, p["$ref"])["name"] for p in op["parameters"]]
                assert "Idempotency-Key" in names, f"{method} {path}: Idempotency-Key not documented"


def test_requests_the_hall_accepts_match_the_request_schemas():
    schemas = DOC["components"]["schemas"]
    assert problems(DOC, schemas["ConsultationRequest"], CONSULTATION) == []
    assert problems(DOC, schemas["ComplaintRequest"], COMPLAINT) == []
    assert problems(DOC, schemas["AppointmentRequest"], BOOKING) == []


async def test_openapi_json_is_public_and_is_the_document(hall):
    resp = await hall.get("/openapi.json")
    assert resp.status == 200 and await resp.json() == DOC


async def test_every_answer_matches_its_documented_schema(hall):
    checked = []

    async def check(method: str, template: str, path: str, status: int, body=None, params=None, key=None):
        headers = {**H, **({"Idempotency-Key": key} if key else {})}
        resp = await hall.request(method, path, json=body, params=params, headers=headers)
        data = await resp.json()
        assert resp.status == status, (method, path, data)
        schema = response_schema(DOC, template, method, status)
        assert problems(DOC, schema, data) == [], (method, template, status)
        checked.append((method.lower(), template))
        return data

    from hall.seed import SAMPLES, _id
    await check("GET", "/healthz", "/healthz", 200)
    await check("GET", "/api/v1/cases/{number}", f"/api/v1/cases/{SAMPLES[0][0]}", 200)
    await check("GET", "/api/v1/cases/{number}", "/api/v1/cases/QR00119990101000000", 404)
    await check("GET", "/api/v1/cases", "/api/v1/cases", 200,
                params={"id_number": _id(SAMPLES[0][6]), "phone": SAMPLES[0][7]})
    await check("GET", "/api/v1/cases", "/api/v1/cases", 400, params={"id_number": "1"})
    c = await check("POST", "/api/v1/consultations", "/api/v1/consultations", 201, CONSULTATION, key="k1")
    await check("POST", "/api/v1/consultations", "/api/v1/consultations", 200, CONSULTATION, key="k1")
    await check("POST", "/api/v1/consultations", "/api/v1/consultations", 400, {**CONSULTATION, "phone": "1"})
    await check("POST", "/api/v1/consultations", "/api/v1/consultations", 409, {**CONSULTATION, "subject": "改"}, key="k1")
    await check("GET", "/api/v1/consultations/{number}", f"/api/v1/consultations/{c['number']}", 200)
    await check("GET", "/api/v1/consultations", "/api/v1/consultations", 200, params={"since": "2026-11-01"})
    await check("GET", "/api/v1/consultations", "/api/v1/consultations", 400, params={"since": "lately"})
    await check("PATCH", "/api/v1/consultations/{number}", f"/api/v1/consultations/{c['number']}", 200, {"public": True})
    await check("PATCH", "/api/v1/consultations/{number}", "/api/v1/consultations/ZX00020261127000099", 404,
                {"public": True})
    await check("POST", "/api/v1/consultations/{number}/answer", f"/api/v1/consultations/{c['number']}/answer", 200,
                {"answer": "可以网上办理。", "staff": "户政窗口"})
    await check("GET", "/api/v1/consultations/{number}", f"/api/v1/consultations/{c['number']}", 200)
    t = await check("POST", "/api/v1/complaints", "/api/v1/complaints", 201, COMPLAINT, key="k2")
    await check("GET", "/api/v1/complaints/{number}", f"/api/v1/complaints/{t['number']}", 200)
    await check("POST", "/api/v1/complaints/{number}/result", f"/api/v1/complaints/{t['number']}/result", 200,
                {"result": "已督办。", "measures": "加强窗口管理。", "staff": "督查科"})
    await check("GET", "/api/v1/complaints/{number}", f"/api/v1/complaints/{t['number']}", 200)
    await check("GET", "/api/v1/complaints/{number}", "/api/v1/complaints/TS00020261127000099", 404)
    await check("GET", "/api/v1/halls", "/api/v1/halls", 200)
    await check("GET", "/api/v1/appointments/slots", "/api/v1/appointments/slots", 200,
                params={"service_code": BOOKING["service_code"], "date": MONDAY})
    await check("GET", "/api/v1/appointments/slots", "/api/v1/appointments/slots", 200,
                params={"service_code": BOOKING["service_code"], "date": "2026-11-28"})
    await check("GET", "/api/v1/appointments/slots", "/api/v1/appointments/slots", 400,
                params={"service_code": BOOKING["service_code"], "date": "soon"})
    a = await check("POST", "/api/v1/appointments", "/api/v1/appointments", 201, BOOKING, key="k3")
    await check("POST", "/api/v1/appointments", "/api/v1/appointments", 400, {**BOOKING, "date": "2026-11-28"})
    await check("GET", "/api/v1/appointments/{number}", f"/api/v1/appointments/{a['number']}", 200)
    await check("PATCH", "/api/v1/appointments/{number}", f"/api/v1/appointments/{a['number']}", 200,
                {"date": TUESDAY, "start": "09:00"})
    await check("DELETE", "/api/v1/appointments/{number}", f"/api/v1/appointments/{a['number']}", 200)
    await check("PATCH", "/api/v1/appointments/{number}", f"/api/v1/appointments/{a['number']}", 409,
                {"date": TUESDAY, "start": "09:30"})
    await check("GET", "/api/v1/opinion-topics", "/api/v1/opinion-topics", 200)
    await check("POST", "/api/v1/opinion-topics/{id}/opinions", "/api/v1/opinion-topics/T02/opinions", 201,
                {"content": "建议电子居住证可用于办理港澳通行证。", "channel": "web"}, key="k4")
    await check("POST", "/api/v1/opinion-topics/{id}/opinions", "/api/v1/opinion-topics/T05/opinions", 409,
                {"content": "建议电子居住证可用于办理港澳通行证。", "channel": "web"})
    await check("GET", "/api/v1/statistics", "/api/v1/statistics", 200)
    resp = await hall.get("/api/v1/statistics")
    assert problems(DOC, response_schema(DOC, "/api/v1/statistics", "get", 401), await resp.json()) == []
    metrics = await hall.get("/metrics")                               # text, not JSON
    assert metrics.status == 200 and 'hall_api_requests_total{method="GET",route="/api/v1/cases/{number}",status="404"}' \
        in await metrics.text()
    answered = {(m, t) for m, t in checked} | {("get", "/metrics")}
    assert answered == documented_routes() - {("get", "/openapi.json")}   # every route's answers were checked
