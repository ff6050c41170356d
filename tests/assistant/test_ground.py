"""Offline grounding judge, with the real MiniLM and the shipped parameters (no fakes)."""

from __future__ import annotations

import json
import time

import pytest

from assistant.answer.ground import DEFAULT_PARAMS, FEATURES, OfflineJudge, SupportJudge

pytestmark = pytest.mark.slow  # loads the real MiniLM

NIFTAC = (
    "Proposals for Provincial Intelligence Fusion and Threat Assessment Centers (PIFTACS), a potential attempt to "
    "simplify threat analysis across federal and provincial lines, were also outlined during NACTA’s sixth Board of "
    "Governors meeting, where NIFTAC was approved."
)
CABINET = (
    "According to an official statement, the cabinet, which is led by Chief Minister Ali Amin Khan Gandapur, "
    "authorized Rs567.7 million for police equipment purchases."
)
HYBRID = (
    "Khyber Pakhtunkhwa also approved a hybrid security model last month, which substitutes police for security "
    "troops in regions with a reduced risk of terrorism. Within 15 days, the police were supposed to take over "
    "security in the districts of Buner and Upper Chitral."
)
JID = (
    "Before it became obsolete, the Joint Intelligence Directorate, which was authorized in 2016, was heralded as a "
    "revolutionary development in intelligence collaboration."
)
CTD = (
    "According to the think tank, CTDs “lack clarity” on militant group dynamics and lack the necessary skills to "
    "assess pertinent intelligence.Furthermore, aside from the Punjab CTD, departments in other provinces are facing "
    "funding problems."
)
NAP = (
    "Indeed, NIFTAC could need to update NAP, which lost emphasis during a review a few years ago and had its twenty "
    "points reduced to fourteen."
)
PIPS = (
    "The document, produced by the Islamabad-based Pakistan Institute for Peace Studies, identifies major "
    "shortcomings in CTD performance."
)

# (claim, passages, supported?)
PAIRS = [
    ("NIFTAC was approved by the National Intelligence Directorate in 2018", [NIFTAC], False),
    ("NIFTAC was approved at NACTA's sixth Board of Governors meeting.", [NIFTAC], True),
    ("The KP cabinet authorized Rs567.7 million for police equipment.", [CABINET], True),
    ("The cabinet authorized Rs900 million for police equipment.", [CABINET], False),
    ("Police were to take over security in Buner and Upper Chitral within 15 days.", [HYBRID], True),
    ("Police were to take over security in Buner and Upper Chitral within 30 days.", [HYBRID], False),
    ("Police were to take over security in Swat and Bannu within 15 days.", [HYBRID], False),
    ("The Joint Intelligence Directorate was authorized in 2016.", [JID], True),
    ("The Joint Intelligence Directorate was authorized in 2019.", [JID], False),
    ("Apart from the Punjab CTD, departments in other provinces face funding problems.", [CTD], True),
    ("The Sindh CTD received an additional Rs2 billion in funding from the World Bank.", [CTD], False),
    ("NAP's twenty points were reduced to fourteen during a review.", [NAP], True),
    ("NAP's twenty points were reduced to ten during a review.", [NAP], False),
    ("The Pakistan Institute for Peace Studies identified major shortcomings in CTD performance.", [PIPS], True),
    # the supporting passage is the second of three
    ("NIFTAC was approved at NACTA's sixth Board of Governors meeting.", [CABINET, NIFTAC, JID], True),
    ("NIFTAC was approved at NACTA's sixth Board of Governors meeting.", [CABINET, JID, CTD], False),
]


@pytest.fixture(scope="module")
def judge() -> OfflineJudge:
    return OfflineJudge()


def test_params_file_is_small_and_complete() -> None:
    assert DEFAULT_PARAMS.stat().st_size < 5_000_000
    params = json.loads(DEFAULT_PARAMS.read_text(encoding="utf-8"))
    assert params["model"]["features"] == FEATURES
    assert 0.0 < params["threshold"] < 1.0
    assert params["cv"]["balanced_accuracy_mean_seed0"] > 0.5


def test_implements_protocol(judge: OfflineJudge) -> None:
    assert isinstance(judge, SupportJudge)
    assert judge.name and 0.0 < judge.threshold < 1.0


@pytest.mark.parametrize(("claim", "passages", "supported"), PAIRS, ids=[f"{i}-{p[2]}" for i, p in enumerate(PAIRS)])
def test_fabrication_pairs(judge: OfflineJudge, claim: str, passages: list[str], supported: bool) -> None:
    score = judge.score(claim, passages)
    assert (score >= judge.threshold) == supported, f"{score:.3f} vs threshold {judge.threshold:.3f}: {claim}"


def test_fabrication_scores_lower_than_faithful_paraphrase(judge: OfflineJudge) -> None:
    good = judge.score("The cabinet authorized Rs567.7 million for police equipment.", [CABINET])
    assert judge.score("The cabinet authorized Rs900 million for police equipment.", [CABINET]) < good
    assert judge.score("The cabinet authorized Rs567.7 million for army equipment in 2021.", [CABINET]) < good


def test_scores_in_unit_interval(judge: OfflineJudge) -> None:
    items = [(c, p) for c, p, _ in PAIRS] + [("Anything at all.", []), ("", [NIFTAC]), ("Rs 5 and 2016.", [""])]
    for score in judge.score_batch(items):
        assert 0.0 <= score <= 1.0


def test_no_evidence_is_unsupported(judge: OfflineJudge) -> None:
    assert judge.score("NIFTAC was approved at NACTA's sixth Board of Governors meeting.", []) < judge.threshold


def test_batch_equals_single(judge: OfflineJudge) -> None:
    items = [(c, p) for c, p, _ in PAIRS[:6]]
    fresh = OfflineJudge(embedder=judge.embedder)
    batch = fresh.score_batch(items)
    single = [OfflineJudge(embedder=judge.embedder).score(c, p) for c, p in items]
    assert batch == pytest.approx(single, abs=1e-4)
    assert judge.score_batch([]) == []


def test_threshold_semantics(judge: OfflineJudge) -> None:
    for claim, passages, _ in PAIRS:
        score = judge.score(claim, passages)
        assert judge.is_supported(claim, passages) == (score >= judge.threshold)


def test_features_are_named_and_finite(judge: OfflineJudge) -> None:
    feats = judge.features(PAIRS[0][0], PAIRS[0][1])
    assert list(feats) == FEATURES
    assert feats["num_miss_doc"] == 1.0  # "2018" is not in the passage
    assert all(v == v and abs(v) < 100 for v in feats.values())


def test_latency_once_loaded(judge: OfflineJudge) -> None:
    judge.score("warm up", [NIFTAC])
    claims = [c for c, _, _ in PAIRS[:5]]
    t0 = time.perf_counter()
    for claim in claims:
        judge.score(claim, [NIFTAC, CABINET, HYBRID])
    per_claim = (time.perf_counter() - t0) / len(claims)
    assert per_claim < 3.0  # guards against e.g. embedding whole pages; 0.05-1.5 s seen on the loaded shared 2-core box


def test_batch_larger_than_the_embedding_cache(judge: OfflineJudge, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.answer.ground as ground

    monkeypatch.setattr(ground, "CACHE_SIZE", 3)
    small = OfflineJudge(embedder=judge.embedder)
    items = [(c, p) for c, p, _ in PAIRS[:4]]
    assert small.score_batch(items) == pytest.approx(judge.score_batch(items), abs=1e-4)
    assert len(small._cache) <= 3
