"""System certification to ISO/IEC 17021-1 (issue 10, part 4a) through the domain: the catalogue's scheme types as
data, a system scheme's cycle, surveillance and levels (R60). Pure; every date is fixed."""

from __future__ import annotations

from typing import Any

import pytest

from services.registry.application import load_catalogue
from services.registry.domain import Scheme
from shared.errors import InvalidCommand
from tests.unit.factories import REGISTRAR, SCHEME_DOCUMENTS, recorded

CATALOGUE = load_catalogue()
SYSTEM = CATALOGUE.scheme_type("system")
PRODUCT = CATALOGUE.scheme_type("product")
LADDER = [1, 2, 3, 4, 5]


def system_scheme(**overrides: Any) -> Scheme:
    kwargs: dict[str, Any] = dict(
        code="skao-co2-ladder", mark="COPRO", title="CO2 Performance Ladder", certification_type="system",
        documents=SCHEME_DOCUMENTS, validity_months=36, surveillance_months=12, admission_months=0,
        max_suspension_months=6, actor=REGISTRAR, reason="scheme recognised by SKAO", scheme_type=SYSTEM,
        levels=LADDER,
    )
    kwargs.update(overrides)
    return Scheme(**kwargs)


# -- the catalogue carries the scheme types as data ------------------------------------------------------

def test_the_catalogue_gives_each_certification_type_its_rules():
    assert set(CATALOGUE.scheme_types) == set(CATALOGUE.certification_types)
    assert SYSTEM["subject"] == "organisation" and SYSTEM["initial_audits"] == ["stage1", "stage2"]
    assert (SYSTEM["cycle_months"], SYSTEM["surveillance_months"], SYSTEM["levelled"]) == (36, 12, True)
    assert PRODUCT["subject"] == "products" and "cycle_months" not in PRODUCT
    assert CATALOGUE.scheme_type("person")["subject"] == "person"
    assert CATALOGUE.scheme_type("unheard-of") == {}


# -- R60: a system scheme keeps to the type's cycle, surveillance and levels -----------------------------

def test_r60_a_system_scheme_registers_with_a_three_year_cycle_annual_surveillance_and_its_levels():
    scheme = system_scheme()
    (registered,) = recorded(scheme)
    assert scheme.levels == LADDER and scheme.scheme_type == SYSTEM
    assert registered.levels == LADDER and registered.scheme_type["grant_audit"] == "stage2"


def test_r60_a_system_scheme_may_be_surveilled_more_often_than_annually():
    assert system_scheme(surveillance_months=6).surveillance_months == 6


@pytest.mark.parametrize("overrides, field", [
    ({"validity_months": 24}, "validity_months"),
    ({"validity_months": 48}, "validity_months"),
    ({"surveillance_months": 18}, "surveillance_months"),
    ({"levels": None}, "levels"),
    ({"levels": []}, "levels"),
    ({"levels": [1, 1, 2]}, "levels"),
    ({"levels": [3, 2, 1]}, "levels"),
    ({"levels": [0, 1]}, "levels"),
])
def test_r60_a_system_scheme_is_refused_off_its_cycle_surveillance_or_levels(overrides, field):
    with pytest.raises(InvalidCommand) as refused:
        system_scheme(**overrides)
    assert "R60" in str(refused.value) and refused.value.extensions.get("field") == field


def test_r60_a_product_scheme_keeps_any_cycle_and_states_no_levels():
    scheme = system_scheme(code="benor-x", certification_type="product", scheme_type=PRODUCT, levels=None,
                           validity_months=60, surveillance_months=24)
    assert scheme.levels == [] and scheme.validity_months == 60
    with pytest.raises(InvalidCommand, match="R60"):
        system_scheme(code="benor-x", certification_type="product", scheme_type=PRODUCT, levels=[1, 2])


def test_r60_a_scheme_registered_before_types_had_rules_is_replayed_as_it_was():
    scheme = system_scheme(scheme_type=None, levels=None, validity_months=12)
    assert scheme.scheme_type == {} and scheme.levels == []
