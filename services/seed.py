"""A register at scale: ``hallmark seed --certificates N`` loads N certificates through the normal event path.

The registry's own policy (``services.registry.policies.on_decision``) applies grant, suspend, restore,
withdraw, renew and reduce_scope decisions, in batches: many decisions per ``save()``, one transaction
each batch, with the numbering and schemes kept loaded between batches. The consumers then apply what
the registry recorded as they always do (the certificate view, the audit trail, the other services'
knowledge), with a progress bar. Names, products and histories are made up, deterministically from
``--seed``: Belgian, Dutch and French building-products manufacturers, their kerbs, paving blocks,
pipes and aggregates; some certificates suspended, restored, withdrawn or revised.
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from services.bootstrap import Hallmark
from services.rebuild import Progress
from services.registry.policies import on_decision
from shared.contract.types import DECISION_RECORDED
from shared.errors import NotFound
from shared.messages import Message, message_from_event

ACTOR = "hallmark:seed"

STEMS = ("Betonwerk", "Béton", "Bétons", "Prefab", "Betonfabriek", "Carrières", "Steengroeve", "Tegelfabriek",
         "Buizenfabriek", "Pavés", "Granulats", "Briqueterie", "Steenbakkerij", "Industrie du Béton",
         "Betonindustrie", "Kalkzandsteen", "Préfabrication", "Grind- en Zandhandel", "Sablières", "Rioleringstechniek")
PLACES = ("Noord", "Zuid", "de Kempen", "Vlaanderen", "Wallonie", "Liège", "Namur", "Gent", "Tournai", "Lommel",
          "Hasselt", "Brugge", "Mons", "Charleroi", "Arlon", "Eindhoven", "Venlo", "Maastricht", "Lille", "Valenciennes",
          "Dinant", "Soignies", "Maasmechelen", "Zelzate", "Roeselare", "Aalst", "Wavre", "Houdeng", "Oudenaarde",
          "Nijmegen", "Tilburg", "Breda", "Dunkerque", "Ardennes", "Condroz", "Hainaut", "Limburg", "Brabant")
FAMILIES = ("Van Damme", "De Smet", "Peeters", "Janssens", "Dubois", "Lambert", "Martin", "Maes", "Willems",
            "Claes", "Goossens", "Wouters", "Dumont", "Leroy", "Renard", "Mertens", "Jacobs", "Vermeulen",
            "Bakker", "Visser", "De Vries", "Lefèvre", "Moreau", "Fontaine", "Verhaegen", "Desmet", "Hendrickx")
FORMS = {"BE": ("NV", "BV", "SA", "SRL", "BVBA", "CVBA"), "NL": ("BV", "NV", "VOF"), "FR": ("SA", "SAS", "SARL")}
PRODUCTS = (  # (name pattern, type, scheme)
    ("Kerb KB {n}", "kerb", "PTV-SEED-KERB"), ("Bordure {n}", "kerb", "PTV-SEED-KERB"),
    ("Paver PV {n}", "paving block", "PTV-SEED-PAVER"), ("Klinker KL {n}", "paving block", "PTV-SEED-PAVER"),
    ("Pavé drainant {n}", "paving block", "PTV-SEED-PAVER"), ("Concrete pipe DN {d}", "pipe", "PTV-SEED-PIPE"),
    ("Tuyau armé DN {d}", "pipe", "PTV-SEED-PIPE"), ("Manhole MH {d}", "manhole", "PTV-SEED-PIPE"),
    ("Aggregate {a}", "aggregate", "COPRO-SEED-AGG"), ("Granulat recyclé {a}", "aggregate", "COPRO-SEED-AGG"),
    ("Gutter GT {n}", "gutter", "PTV-SEED-KERB"), ("Tegel TG {n}", "tile", "PTV-SEED-PAVER"),
)
SCHEMES = {
    "PTV-SEED-KERB": ("BENOR", "Precast concrete kerbs and gutters", "PTV 21-601"),
    "PTV-SEED-PAVER": ("BENOR", "Concrete paving blocks and tiles", "PTV 21-602"),
    "PTV-SEED-PIPE": ("BENOR", "Concrete pipes and manholes", "PTV 21-101"),
    "COPRO-SEED-AGG": ("COPRO", "Aggregates, natural and recycled", "PTV 411"),
}


def _holder(rng: random.Random) -> dict[str, str]:
    country = rng.choices(("BE", "NL", "FR"), weights=(70, 18, 12))[0]
    name = f"{rng.choice(STEMS)} {rng.choice(PLACES + FAMILIES)} {rng.choice(FORMS[country])}"
    number = {"BE": lambda: f"BE0{rng.randrange(10**8, 10**9)}", "NL": lambda: f"NL{rng.randrange(10**7, 10**8)}",
              "FR": lambda: f"FR{rng.randrange(10**8, 10**9)}"}[country]()
    return {"name": name, "registration_number": number,
            "address": f"{rng.choice(('Industrieweg', 'Rue de la Carrière', 'Kaai', 'Zoning'))} {rng.randrange(1, 200)}, "
                       f"{rng.choice(PLACES)}"}


def _products(rng: random.Random) -> tuple[str, list[dict[str, str]]]:
    name, kind, scheme = rng.choice(PRODUCTS)
    related = [p for p in PRODUCTS if p[2] == scheme]
    products = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        name, kind, _scheme = rng.choice(related)
        products.append({"name": name.format(n=rng.randrange(8, 300), d=rng.choice((300, 400, 600, 800, 1000)),
                                             a=rng.choice(("2/6", "4/14", "6/20", "0/32"))), "type": kind})
    unique = list({p["name"]: p for p in products}.values())
    return scheme, unique


def _schemes(hallmark: Hallmark) -> None:
    """The seed's schemes, registered through the registry's use case when missing."""
    registry = hallmark.registry
    assert registry is not None
    for code, (mark, title, ref) in SCHEMES.items():
        try:
            registry.scheme(code)
            continue
        except NotFound:
            pass
        registry.register_scheme({
            "code": code, "mark": mark, "title": title, "certification_type": "product",
            "documents": [{"kind": "PTV", "ref": ref, "version": "1.0", "effective_from": "2020-01-01"}],
            "validity_months": 36, "surveillance_months": 12, "admission_months": 6, "max_suspension_months": 6,
        }, ACTOR)


class _Batch:
    """The registry's repository, holding what a batch has loaded and changed, so each decision sees the
    ones before it (the numbering above all) and one ``save()`` records the whole batch."""

    def __init__(self, repository: Any) -> None:
        self.repository = repository
        self.loaded: dict[Any, Any] = {}

    def get(self, aggregate_id: Any, *args: Any, **kwargs: Any) -> Any:
        if aggregate_id not in self.loaded:
            self.loaded[aggregate_id] = self.repository.get(aggregate_id, *args, **kwargs)
        return self.loaded[aggregate_id]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repository, name)


def _decisions(rng: random.Random, today: Any, count: int) -> list[list[dict[str, Any]]]:
    """Per certificate, its decisions in order: a grant, then perhaps a history."""
    files = []
    for _ in range(count):
        scheme, products = _products(rng)
        holder = _holder(rng)
        granted = today - timedelta(days=rng.randrange(30, 170))  # surveillance is never overdue on seeding
        application_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        grant = {"outcome": "grant", "application_id": application_id, "certificate_number": None, "scheme": scheme,
                 "effective_from": granted.isoformat(), "actor": ACTOR, "scope": None, "products": None,
                 "certified": {"holder": holder, "production_unit": {"name": f"Plant {rng.choice(PLACES)}",
                                                                     "address": holder["address"]},
                               "products": products, "scope": f"{SCHEMES[scheme][1]}: "
                               + ", ".join(p["name"] for p in products)}}
        later = [granted + timedelta(days=d) for d in sorted(rng.sample(range(1, (today - granted).days), 2))]
        roll = rng.random()
        history: list[tuple[str, dict[str, Any]]] = []
        if roll < 0.07:
            history = [("suspend", {})]
        elif roll < 0.11:
            history = [("suspend", {}), ("withdraw", {})]
        elif roll < 0.15:
            history = [("suspend", {}), ("restore", {})]
        elif roll < 0.17:
            history = [("withdraw", {})]
        elif roll < 0.22:
            history = [("renew", {})]
        elif roll < 0.25 and len(products) > 1:
            history = [("reduce_scope", {"scope": "Reduced scope: " + products[0]["name"], "products": products[:1]})]
        file = [grant]
        for (outcome, extra), day in zip(history, later, strict=False):
            file.append({"outcome": outcome, "application_id": application_id, "scheme": scheme,
                         "effective_from": day.isoformat(), "actor": ACTOR, "certified": None, "scope": None,
                         "products": None, **extra})
        files.append(file)
    return files


def seed(hallmark: Hallmark, certificates: int, *, batch: int = 500, seed_value: int = 17,
         out: TextIO = sys.stderr) -> dict[str, int]:
    """Record ``certificates`` certificates with their histories in the registry, then let every consumer
    apply them. Returns how many decisions the registry applied and how many messages were applied."""
    registry = hallmark.registry
    assert registry is not None and hallmark.pump is not None, "seed runs where the registry runs"
    _schemes(hallmark)
    rng = random.Random(seed_value)
    progress = Progress("registry", certificates, out)
    applied = 0
    for pending, size, decided in _batches(hallmark, certificates, batch, rng):
        registry.save(*pending.loaded.values())
        applied += decided
        progress.advance(size)
    progress.finish()
    return {"decisions": applied, "messages": _settle(hallmark, out)}


def _batches(hallmark: Hallmark, certificates: int, batch: int, rng: random.Random) -> Any:
    """The made-up files, decided by the registry's own policy, a batch at a time: yields the batch (what
    it loaded and changed), how many certificates and how many decisions it holds. Between batches the
    numbering and schemes stay loaded (they are current); the certificates are let go."""
    registry = hallmark.registry
    assert registry is not None
    policy = on_decision(registry)
    original = registry.repository
    pending = _Batch(original)
    now = datetime.now(UTC)
    try:
        registry._repository = pending  # the registry's repository is not meant to be swapped: only here
        done = 0
        while done < certificates:
            size = min(batch, certificates - done)
            decided = 0
            for grant, *history in _decisions(rng, registry.clock.today(), size):
                issued = _apply(policy, grant, now, pending)
                number = next(a.number for a in issued if hasattr(a, "quick_code"))
                for decision in history:
                    _apply(policy, {**decision, "certificate_number": number}, now, pending)
                decided += 1 + len(history)
            yield pending, size, decided
            pending.loaded = {k: v for k, v in pending.loaded.items() if not hasattr(v, "quick_code")}
            done += size
    finally:
        registry._repository = original


def _apply(policy: Any, decision: dict[str, Any], now: datetime, pending: _Batch) -> list[Any]:
    """One decision as the registry receives it from decisions; what it creates joins the batch."""
    decision_id = str(uuid.uuid4())
    message = Message(stream="seed", position=0, source="decisions", type=DECISION_RECORDED, subject=decision_id,
                      version=1, time=now, data=decision)
    changed = list(policy(message))
    for aggregate in changed:
        pending.loaded[aggregate.id] = aggregate
    return changed


def _settle(hallmark: Hallmark, out: TextIO) -> int:
    """Every consumer applies what was recorded (certificate view, trail, the services' knowledge)."""
    total = sum(consumer.lag() for consumer in hallmark.consumers)
    progress = Progress("consumers", total, out)
    applied = 0
    while True:
        before = sum(consumer.lag() for consumer in hallmark.consumers)
        for consumer in hallmark.consumers:
            applied += consumer.poll(limit=500)
        hallmark.checkpoint()
        after = sum(consumer.lag() for consumer in hallmark.consumers)
        progress.total = max(progress.total, progress.done + max(before - after, 0) + after)  # effects add events
        progress.advance(max(before - after, 0))
        if after == 0:
            break
    progress.finish()
    hallmark.settle()
    return applied


def fill_directory(hallmark: Hallmark, certificates: int, *, batch: int = 5000, seed_value: int = 17,
                   out: TextIO = sys.stderr) -> int:
    """Measurement aid for the directory's search at a register's scale (``tests/bench/bench_directory.py
    --search-scale``): the same made-up files as ``seed``, decided by the registry's own policy, whose
    certificate events the certificate view applies with its own handler, in transactions of ``batch``,
    but without storing them in the registry's event store and without the other consumers (trail, log,
    knowledge). The view then holds what the event path would give it, in a fraction of the time (the full
    event path runs at about 2,000 consumer messages/s here, some two hours for 1,000,000 certificates);
    everything else does not know these certificates, so this is for a throw-away data folder only.
    Returns the number of certificates in the view."""
    registry, view = hallmark.registry, hallmark.certificates
    assert registry is not None and view is not None, "fill_directory runs where the registry and its view run"
    _schemes(hallmark)
    _settle(hallmark, out)
    progress = Progress("directory", certificates, out)
    position = 0
    for pending, size, _ in _batches(hallmark, certificates, batch, random.Random(seed_value)):
        with view.db.transaction() as c:
            for aggregate in pending.loaded.values():
                for event in aggregate.collect_events():
                    position += 1
                    view.handle(c, message_from_event("registry", position, "registry", event))
        progress.advance(size)
    progress.finish()
    if view.db.dialect == "postgres":  # after a bulk load, the planner's statistics (autovacuum comes later)
        with view.db.transaction() as c:
            c.execute("ANALYZE certificates")
    with view.db.read() as c:
        c.execute("SELECT count(*) FROM certificates")
        return int(c.fetchone()[0])
