"""The question-set loader: shipped sets load; malformed rows fail with `file:line: reason`."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.dataset import DatasetError, load_dataset

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "evals"
SETS = ROOT / "evals" / "datasets"


def test_shipped_sets_load() -> None:
    ed = load_dataset(SETS / "ct_editorials.jsonl")
    assert ed.kind == "single" and len(ed) == 80
    assert {i.kind for i in ed.items} == {"answerable", "unanswerable", "off_topic"}
    conv = load_dataset(SETS / "ct_conversations.jsonl")
    assert conv.kind == "conversation" and len(conv) >= 8 and conv.n_turns() > len(conv)
    assert all(t.standalone for c in conv.conversations for t in c.turns[1:])
    dev = load_dataset(SETS / "ct_dev.jsonl")
    assert not {i.id for i in dev.items} & {i.id for i in ed.items}
    assert len(ed.sha256) == 64 and ed.sha256 != dev.sha256


def test_key_facts_normalised_to_alternatives() -> None:
    ds = load_dataset(DATA / "good_single.jsonl")
    assert ds.items[0].key_facts == [["Rs567.7 million", "567.7 million"]]
    conv = load_dataset(DATA / "good_conversation.jsonl")
    turn = conv.conversations[0].turns[1]
    assert turn.key_facts == [["Ali Amin Khan Gandapur"]] and turn.question == "Who leads the KP cabinet?"
    assert ds.doc_ids() == {"002_f76924cdbd8590c8"}


@pytest.mark.parametrize(
    "name, line, reason",
    [
        ("bad_json.jsonl", 2, "invalid JSON"),
        ("missing_question.jsonl", 2, "question: Field required"),
        ("bad_kind.jsonl", 1, "kind:"),
        ("answerable_no_evidence.jsonl", 1, "answerable needs 1-3 evidence"),
        ("unanswerable_with_evidence.jsonl", 1, "must have empty evidence"),
        ("duplicate_id.jsonl", 2, "duplicate id 'b01'"),
        ("unknown_tag.jsonl", 1, "unknown tag(s) ['geography']"),
        ("blank_line.jsonl", 2, "blank line"),
        ("conversation_no_standalone.jsonl", 1, "turn 2 is a follow-up"),
        ("mixed.jsonl", 2, "a conversation row in a single set"),
    ],
)
def test_malformed_rows_name_file_and_line(name: str, line: int, reason: str) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset(DATA / name)
    err = info.value
    assert err.line == line and err.path.endswith(name)
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith(f"{DATA / name}:{line}: ") and reason in msg


def test_unreadable_and_empty(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DatasetError, match="empty file"):
        load_dataset(tmp_path / "empty.jsonl")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"id": "x"}\n{"q": "caf\xe9"}\n')
    with pytest.raises(DatasetError, match=r"latin1.jsonl:2: not UTF-8"):
        load_dataset(tmp_path / "latin1.jsonl")
