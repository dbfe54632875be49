"""Evidence packs: exported over HTTP and by the CLI, verified offline, and refused, naming the entry,
after any one-byte change."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from services.cli import main
from services.projections.evidence import _container, verify_offline
from tests.support import File


def _pack(api, **params) -> bytes:
    response = api.get("/v1/trail/evidence-pack", "Asha", "assessor", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return response.content


def _files(pack: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(files: dict[str, bytes]) -> bytes:
    """Written as Hallmark writes packs, so that only the change a test makes is there to be found."""
    return _container(files)


def _lines(files: dict[str, bytes]) -> list[dict]:
    return [json.loads(line) for line in files["entries.jsonl"].decode().splitlines()]


def _with_lines(files: dict[str, bytes], lines: list[dict]) -> bytes:
    return _zip({**files, "entries.jsonl": "".join(json.dumps(line) + "\n" for line in lines).encode()})


@pytest.fixture
def granted(api):
    file = File(api).granted()
    file.ok(file.decide("suspend"), 201)
    return file


def test_a_files_pack_verifies_offline_and_holds_the_whole_file(api, hallmark, granted):
    pack = _pack(api, certificate_number=granted.certificate)
    verdict = verify_offline(pack, trusted_vkey=hallmark.trail.log.key.vkey)
    assert verdict.ok, verdict.problems
    files = _files(pack)
    trail = api.get("/v1/audit-trail", "Asha", "assessor", certificate_number=granted.certificate).json()["entries"]
    assert [line["index"] for line in _lines(files)] == [e["index"] for e in trail]
    assert verdict.summary["impartiality"] == {"R1": True, "R2": True, "R8": True}
    report = files["report.html"].decode()
    for person in ("Dirk Decider", "Luc"):
        assert person in report
    assert _pack(api, certificate_number=granted.certificate) == pack  # the same selection, the same bytes


def test_the_cli_exports_and_verifies_and_a_flipped_byte_fails_naming_the_entry(api, hallmark, granted, tmp_path,
                                                                                  monkeypatch, capsys):
    monkeypatch.setenv("HALLMARK_DATA", str(hallmark.settings.data_dir))
    if hallmark.settings.store == "postgres":
        pytest.skip("the CLI reads the instance from the environment; the HTTP export covers PostgreSQL")
    out = tmp_path / "file.zip"
    hallmark.close()  # the CLI opens the instance itself, as an operator would with the server stopped
    assert main(["evidence", "export", "--certificate", granted.certificate, "--out", str(out)]) == 0
    assert main(["evidence", "verify", str(out)]) == 0
    files = _files(out.read_bytes())
    lines = _lines(files)
    entry = bytearray(base64.b64decode(lines[3]["entry"]))
    entry[entry.index(b"subject") + 12] ^= 0x01
    lines[3]["entry"] = base64.b64encode(bytes(entry)).decode()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_with_lines(files, lines))
    capsys.readouterr()
    assert main(["evidence", "verify", str(bad)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["first_bad_entry"]["index"] == lines[3]["index"]


def test_any_one_byte_change_anywhere_is_refused(api, hallmark, granted):
    pack = _pack(api, certificate_number=granted.certificate)
    files = _files(pack)
    for name, data in files.items():  # one byte of every file of the pack
        for at in (0, len(data) // 2, len(data) - 2):
            changed = bytearray(data)
            changed[at] = (changed[at] + 1) % 256
            verdict = verify_offline(_zip({**files, name: bytes(changed)}))
            assert not verdict.ok, (name, at)
    for at in range(0, len(pack), max(1, len(pack) // 200)):  # and bytes of the zip itself
        changed = bytearray(pack)
        changed[at] ^= 0x20
        assert not verify_offline(bytes(changed)).ok, at


def test_an_edited_removed_or_reordered_entry_is_named(api, hallmark, granted):
    files = _files(_pack(api, certificate_number=granted.certificate))
    lines = _lines(files)

    entry = json.loads(base64.b64decode(lines[4]["entry"]))
    entry["actor"] = "Someone Else"
    edited = [*lines[:4], {**lines[4], "entry": base64.b64encode(json.dumps(entry, sort_keys=True,
                                                                           separators=(",", ":")).encode()).decode()},
              *lines[5:]]
    verdict = verify_offline(_with_lines(files, edited))
    assert not verdict.ok and verdict.first_bad_entry["index"] == lines[4]["index"]

    removed = lines[:2] + lines[3:]
    verdict = verify_offline(_with_lines(files, removed))
    assert not verdict.ok and verdict.first_bad_entry["index"] == lines[2]["index"]

    swapped = [*lines[:1], {**lines[2], "index": lines[1]["index"]}, {**lines[1], "index": lines[2]["index"]},
               *lines[3:]]
    verdict = verify_offline(_with_lines(files, swapped))
    assert not verdict.ok and verdict.first_bad_entry["index"] == lines[1]["index"]

    moved = [*lines[:1], lines[2], lines[1], *lines[3:]]
    verdict = verify_offline(_with_lines(files, moved))
    assert not verdict.ok and verdict.first_bad_entry["index"] == lines[1]["index"]


def test_a_forged_checkpoint_or_another_key_is_refused(api, hallmark, granted):
    files = _files(_pack(api, certificate_number=granted.certificate))
    note = files["checkpoint.txt"].decode()
    size = note.split("\n")[1]
    forged = note.replace(f"\n{size}\n", f"\n{int(size) + 1}\n", 1)
    verdict = verify_offline(_zip({**files, "checkpoint.txt": forged.encode()}))
    assert not verdict.ok and "checkpoint.txt does not verify" in verdict.problems[0]

    from shared.evidence.checkpoint import generate_key

    other = generate_key("hallmark/local").vkey
    verdict = verify_offline(_pack(api, certificate_number=granted.certificate), trusted_vkey=other)
    assert not verdict.ok and "not the key you trust" in verdict.problems[0]


def test_packs_by_application_and_period_and_bad_requests(api, hallmark, granted):
    from tests.support import today

    day = today().isoformat()
    by_period = _pack(api, **{"from": day, "to": day})
    assert verify_offline(by_period).ok
    assert len(_lines(_files(by_period))) == hallmark.trail.log.size()
    by_application = _pack(api, application_id=granted.application_id)
    assert verify_offline(by_application).ok
    assert api.get("/v1/trail/evidence-pack", "Asha", "assessor").status_code == 422
    assert api.get("/v1/trail/evidence-pack", "Asha", "assessor", application_id="nope").status_code == 404
    assert api.get("/v1/trail/evidence-pack", "Carla", "applicant",
                   certificate_number=granted.certificate).status_code == 403
    both = api.get("/v1/trail/evidence-pack", "Asha", "assessor", application_id=granted.application_id,
                   certificate_number=granted.certificate)
    assert both.status_code == 422 and both.headers["content-type"] == "application/problem+json"


def test_the_assessors_sample_and_the_impartiality_report(api, hallmark, granted):
    from tests.support import today

    refused = File(api).planned()
    day = today().isoformat()
    files = api.get("/v1/trail/files", "Asha", "assessor", **{"from": day, "to": day}).json()["files"]
    ids = {f["application_id"] for f in files}
    assert {granted.application_id, refused.application_id} <= ids
    suspended = api.get("/v1/trail/files", "Asha", "assessor", outcome="suspend", **{"from": day, "to": day}).json()
    assert [f["application_id"] for f in suspended["files"]] == [granted.application_id]
    pending = api.get("/v1/trail/files", "Asha", "assessor", outcome="pending", **{"from": day, "to": day}).json()
    assert refused.application_id in {f["application_id"] for f in pending["files"]}
    report = api.get("/v1/trail/impartiality-report", "Asha", "assessor", **{"from": day, "to": day}).json()
    assert report["rules"]["R1"]["checks"] >= 2 and report["rules"]["R1"]["not_held"] == []
    assert any(c["application_id"] == granted.application_id for c in report["rules"]["R2"]["all"])
    assert api.get("/v1/trail/files", "Asha", "assessor", **{"from": day, "to": "2000-01-01"}).status_code == 422
