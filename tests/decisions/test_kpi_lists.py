"""The decisions' KPI lists read the KPI registry: every KPI a threshold decision ranks
(``objective.KPIS``) and every sizing measure (``measures.MEASURES``) names its registry key(s)
and, unless it is a declared derived one, shows the registry's label and unit; a key the registry
lacks fails; and a KPI new to the registry can be targeted and ranked on by its key alone."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from conftest import build

from simfunnel.decisions import objective
from simfunnel.decisions.measures import (
    MEASURES,
    Target,
    key_label,
    key_measure,
    measure_label,
    registry_kpi,
)
from simfunnel.decisions.objective import (
    BY_NAME,
    KPIS,
    Kpi,
    decision_kpis,
    derived,
    mirrored,
    service_targets,
)
from simfunnel.experiments import run_variants
from simfunnel.results import KPI, Unit
from simfunnel.results import KPIS as REGISTRY
from simfunnel.results import kpis as registry_module

# The entries computed from run KPIs, with words of their own (everything else mirrors one key).
DERIVED_KPIS = {
    "objective",
    "value",
    "cost",
    "mqls_per_week",
    "open_value",
    "cost_per_sql",
    "cost_per_valid",
}
DERIVED_MEASURES = {"valid_opps_per_month", "sqls_per_month", "wins_per_month"}


def registry_words(key: str) -> str:
    """The registry's label as the decisions show it: a duration is a plain number of hours."""
    entry = REGISTRY[key]
    return entry.label


def test_every_ranked_kpi_names_registry_keys_and_shows_their_words() -> None:
    assert {k.name for k in KPIS if k.derived} == DERIVED_KPIS
    assert list(BY_NAME) == [k.name for k in KPIS]
    for k in KPIS:
        assert k.keys and all(key in REGISTRY for key in k.keys), k.name
        if not k.derived:
            assert k.key == k.keys[0] and len(k.keys) == 1, k.name
            assert k.label == registry_words(k.key), k.name
            assert k.unit is REGISTRY[k.key].unit, k.name
            assert k.percent == (k.unit is Unit.SHARE) and k.money == (k.unit is Unit.MONEY)
        else:
            assert k.key is None and k.label.strip(), k.name
    assert BY_NAME["objective"].money and BY_NAME["within_1h"].percent
    assert BY_NAME["speed_to_lead_median_h"].hours


def test_every_measure_names_a_registry_key_and_shows_its_words() -> None:
    assert {n for n, m in MEASURES.items() if m.derived} == DERIVED_MEASURES
    for name, m in MEASURES.items():
        assert len(m.keys) == 1 and m.keys[0] in REGISTRY, name
        assert m.unit is REGISTRY[m.keys[0]].unit, name
        if not m.derived:
            assert m.label == registry_words(m.keys[0]) == measure_label(name), name
    report = {"speed_to_lead.within_1h": 0.7, "totals.won": 13.0}
    assert MEASURES["speed_to_lead_1h"].read(report, 4.0) == 0.7
    assert MEASURES["wins_per_month"].read(report, 52.1775 / 12) == 13.0


def test_the_service_targets_speak_the_registrys_words() -> None:
    within, utilisation, valid = service_targets(0.5, max_utilisation=0.8, min_valid_rate=0.6)
    assert within.label == REGISTRY["speed_to_lead.within_1h"].label and within.percent
    assert utilisation.label == REGISTRY["utilisation.sdr"].label and utilisation.percent
    assert str(valid) == f"{REGISTRY['rates.sql_to_valid'].label} >= 60%"


def test_a_report_key_target_is_labelled_from_the_registry() -> None:
    assert Target.parse("totals.won >= 40").label == REGISTRY["totals.won"].label
    assert Target.parse("ae.ae_mean_wait_h <= 8").label == registry_words("ae.ae_mean_wait_h")
    assert key_label("leads_by_source.web") == "leads by source (web)"  # a pattern's key
    assert Target.parse("speed_to_lead_1h >= 0.8").label == MEASURES["speed_to_lead_1h"].label


def test_a_key_the_registry_lacks_fails_instead_of_passing_silently() -> None:
    with pytest.raises(KeyError, match=r"totals\.wonn"):
        registry_kpi("totals.wonn")
    with pytest.raises(KeyError):
        mirrored("wonn", "totals.wonn", True)
    with pytest.raises(KeyError):
        derived("wonn_per_week", "wins per week", True, ("totals.wonn",))
    with pytest.raises(KeyError):
        key_measure("won")  # no section
    with pytest.raises(ValueError, match=r"no KPI 'totals\.wonn' in the KPI registry"):
        Target.parse("totals.wonn >= 1")


def test_an_ad_hoc_kpi_is_a_plain_number() -> None:
    """Charts describe a column the list lacks as ``Kpi(name, name, True)``."""
    k = Kpi("x", "x", True)
    assert not (k.percent or k.money or k.hours or k.derived) and k.key is None


@pytest.fixture
def new_registry_entry(monkeypatch: pytest.MonkeyPatch) -> KPI:
    """A KPI the registry gains (as a new entry in simfunnel/results/kpis.py would be)."""
    entry = KPI("dials_per_sql", "totals", Unit.SHARE, "dials per SQL", "dials / sqls")
    grown = MappingProxyType({**REGISTRY, entry.key: entry})
    monkeypatch.setattr(registry_module, "KPIS", grown)
    return entry


def test_a_new_registry_entry_can_be_targeted_by_its_key(new_registry_entry: KPI) -> None:
    target = Target.parse("totals.dials_per_sql <= 0.5")
    assert target.label == "dials per SQL"
    assert target.value_in({"totals.dials_per_sql": 0.4}, 4.0) == 0.4
    assert target.met(0.4) and not target.met(0.6)
    ranked = mirrored("dials_per_sql", "totals.dials_per_sql", False)
    assert (
        ranked.label == "dials per SQL" and ranked.percent and ranked.key == "totals.dials_per_sql"
    )


def test_a_run_kpi_added_to_the_ranked_list_is_read_off_its_key(monkeypatch) -> None:
    """One ``mirrored`` line is all a decision needs to rank on a run KPI: decision_kpis reads
    it off the run's totals, under the list's name."""
    scenario = build()
    exp = run_variants(scenario, {"now": {}}, 1, workers=1, progress=False)
    dials = mirrored("dials", "totals.dials", True)
    monkeypatch.setattr(objective, "KPIS", (*KPIS, dials))
    long = decision_kpis(exp, scenario.horizon / 168.0)
    assert list(long["metric"]) == [k.name for k in (*KPIS, dials)]
    t = exp.totals
    expected = t.loc[(t["section"] == "totals") & (t["metric"] == "dials"), "value"].iloc[0]
    assert long.set_index("metric").loc["dials", "value"] == expected
