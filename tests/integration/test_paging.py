"""Every listing pages with an opaque cursor: the staff certificate list and worklist, the public
directory and a file's audit trail. Pages neither overlap nor skip; a cursor that the listing did
not give out is a 422 problem."""

from __future__ import annotations

import base64

from tests.support import File

ASSESSOR = ("Asha Assessor", "assessor")


def pages(api, path: str, who: tuple[str, ...], field: str, **params) -> list[dict]:
    """Every page of a listing, followed by its cursors; each page but the last is full."""
    seen: list[list[dict]] = []
    cursor = None
    while True:
        answer = api.get(path, *who, **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen.append(body[field])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        assert len(body[field]) == params["limit"]
        assert len(seen) < 100, "the cursors never end"


def refused(answer) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail"} <= answer.json().keys()


def test_the_staff_certificate_list_pages(api):
    numbers = sorted(File(api).granted().certificate for _ in range(3))
    everything = api.get("/v1/certificates", *File.ADMIN).json()
    assert [c["number"] for c in everything["items"]] == numbers and everything["next_cursor"] is None
    for limit in (1, 2, 3):
        listed = pages(api, "/v1/certificates", File.ADMIN, "items", limit=limit)
        assert [c["number"] for page in listed for c in page] == numbers
        assert all("attention" in c for page in listed for c in page)
    first = api.get("/v1/certificates", *File.ADMIN, limit=2).json()
    # The public directory and the staff list order alike, so their cursors are interchangeable.
    public = api.get("/public/v1/certificates", limit=2, cursor=first["next_cursor"]).json()
    assert [c["number"] for c in public["items"]] == numbers[2:]


def test_the_worklist_pages(api):
    files = [File(api).granted() for _ in range(3)]
    for file in files[:2]:
        suspended = file.ok(file.decide("suspend"), 201)
        appeal = file.ok(api.post("/v1/appeals", {"decision_id": suspended["id"], "appellant": "Betonwerk Noord NV",
                                                  "grounds": "Products conform"}, *File.ADMIN), 201)
        file.ok(api.post(f"/v1/appeals/{appeal['id']}/decide",  # upheld: a corrective decision is due
                         {"committee": ["Paula Public"], "outcome": "upheld", "rationale": "r"}, *File.ADMIN))
    listed = pages(api, "/v1/certificates", File.ADMIN, "items", limit=1, needs_attention="true")
    assert sorted(c["number"] for page in listed for c in page) == sorted(f.certificate for f in files[:2])


def test_limits_are_bounded(api):
    for path, who, biggest in (("/v1/certificates", File.ADMIN, 200), ("/public/v1/certificates", (), 100)):
        assert api.get(path, *who, limit=biggest).status_code == 200
        for limit in (0, biggest + 1, -1):
            refused(api.get(path, *who, limit=limit))
    file = File(api).granted()
    assert api.get("/v1/audit-trail", *ASSESSOR, application_id=file.application_id, limit=500).status_code == 200
    refused(api.get("/v1/audit-trail", *ASSESSOR, application_id=file.application_id, limit=501))


def test_the_audit_trail_pages_in_the_order_recorded(api):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    whole = api.get("/v1/audit-trail", *ASSESSOR, application_id=file.application_id).json()
    assert whole["next_cursor"] is None and len(whole["entries"]) > 5
    for limit in (1, 2, 5):
        listed = pages(api, "/v1/audit-trail", ASSESSOR, "entries", limit=limit, application_id=file.application_id)
        assert [e for page in listed for e in page] == whole["entries"]
    by_number = pages(api, "/v1/audit-trail", ASSESSOR, "entries", limit=4, certificate_number=file.certificate)
    assert [e for page in by_number for e in page] == whole["entries"]


def test_a_cursor_the_listing_did_not_give_out_is_refused(api):
    first, other = File(api).granted(), File(api).granted()
    trail = api.get("/v1/audit-trail", *ASSESSOR, application_id=first.application_id, limit=1).json()
    certificates = api.get("/v1/certificates", *File.ADMIN, limit=1).json()

    def forged(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    for cursor in ("%%%", "not base64!", forged("after:"), forged("trail:x:1"), trail["next_cursor"],
                   forged("after:BENOR\x1b[2J"), "A" * 201):
        refused(api.get("/v1/certificates", *File.ADMIN, cursor=cursor))
        refused(api.get("/public/v1/certificates", cursor=cursor))
    for cursor in ("%%%", certificates["next_cursor"], forged(f"trail:{first.application_id}:x"),
                   forged(f"trail:{first.application_id}:" + "9" * 40), forged(f"trail:{first.application_id}:")):
        refused(api.get("/v1/audit-trail", *ASSESSOR, application_id=first.application_id, cursor=cursor))
    # A cursor of one file's trail does not page another's.
    refused(api.get("/v1/audit-trail", *ASSESSOR, application_id=other.application_id, cursor=trail["next_cursor"]))
    # Past the end is an empty last page, not a 404.
    end = forged(f"trail:{first.application_id}:999999999")
    past = api.get("/v1/audit-trail", *ASSESSOR, application_id=first.application_id, cursor=end).json()
    assert past["entries"] == [] and past["next_cursor"] is None
