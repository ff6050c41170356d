"""The cross-encoder answer scorer: the shipped adapters merged and exported to ONNX compute what
peft's own LoRA model computes, the graph is cached by the weights (not by the operating point),
and a broken parameter file is one clear error naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.crossenc import PARAMS, CrossEncoder, CrossEncoderParametersError, read_params

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    ("When was NACTA established?", "NACTA was established in 2009 to coordinate the counter-terrorism effort."),
    ("When was NACTA established?", "The provincial departments lack forensic laboratories."),
    ("Who funds the CTDs?", "Provincial governments fund the counter-terrorism departments from their police budgets."),
    ("Who funds the CTDs?", "NIFTAC is meant to track terrorist financing."),
]


def _peft_logits(pairs: list[tuple[str, str]]) -> np.ndarray:
    """The same model the way it was trained: base MiniLM + peft LoRA modules holding the shipped arrays."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    from assistant.encode.embed import _encoding_tokenizer, minilm_path

    arrays, meta = read_params(PARAMS)
    base = AutoModelForSequenceClassification.from_pretrained(str(minilm_path()), num_labels=1, local_files_only=True, attn_implementation="eager")
    model = get_peft_model(base, LoraConfig(r=meta["rank"], lora_alpha=meta["alpha"], target_modules=["query", "key", "value", "dense"], modules_to_save=["classifier"]))
    state = model.state_dict()
    loaded = 0
    for name in list(state):
        key = name.replace("base_model.model.", "").replace(".default", "").replace("modules_to_save.", "")
        if key in arrays and ("lora_" in name or "modules_to_save" in name):
            state[name] = torch.from_numpy(arrays[key].astype(np.float32))
            loaded += 1
    assert loaded == len(arrays), "every shipped array has its place in the peft model"
    model.load_state_dict(state)
    model.eval()
    tok = _encoding_tokenizer(minilm_path(), meta["max_tokens"])
    out = []
    with torch.no_grad():
        for q, s in pairs:
            e = tok.encode(q, s)
            ids = torch.tensor([e.ids])
            out.append(float(model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.tensor([e.type_ids])).logits[0, 0]))
    return np.array(out, dtype=np.float32)


def test_onnx_graph_computes_the_trained_model(tmp_path: Path) -> None:
    ref = _peft_logits(PAIRS)
    for precision, tol in (("fp32", 1e-3), ("int8", 0.35)):
        ce = CrossEncoder(precision, cache_dir=tmp_path)
        got = np.concatenate([ce.logits(q, [s]) for q, s in PAIRS])
        assert np.abs(got - ref).max() < tol, (precision, got, ref)
        # the answering sentence of each question is ranked first at every precision
        assert got[0] > got[1] and got[2] > got[3], (precision, got)
    assert ref[0] > ref[1] and ref[2] > ref[3]


def test_graph_is_keyed_by_the_weights_not_the_operating_point(tmp_path: Path) -> None:
    arrays, meta = read_params(PARAMS)
    same = tmp_path / "same.npz"
    np.savez_compressed(same, meta=np.array(json.dumps({**meta, "min_prob": 0.99})), **arrays)
    changed = tmp_path / "changed.npz"
    key = next(k for k in arrays if "lora_B" in k)
    np.savez_compressed(changed, meta=np.array(json.dumps(meta)), **{**arrays, key: arrays[key] + np.float16(0.01)})
    a, b, c = (CrossEncoder("fp32", params=p, cache_dir=tmp_path / "c") for p in (PARAMS, same, changed))
    assert a.weights_digest == b.weights_digest != c.weights_digest
    assert b.min_prob == 0.99 and 0.0 < a.min_prob < 1.0


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_unreadable_parameter_file_is_one_error_naming_it(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "crossenc.npz"
    bad.write_bytes(content)
    with pytest.raises(CrossEncoderParametersError) as err:
        CrossEncoder("fp32", params=bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_shipped_parameters_are_small_and_say_how_they_were_made() -> None:
    size = PARAMS.stat().st_size
    assert size < 3_000_000, f"{PARAMS} is {size} bytes: ship adapters, not a model"
    arrays, meta = read_params(PARAMS)
    assert {"rank", "alpha", "max_tokens", "min_prob", "data", "dev_squad2_synthetic"} <= set(meta)
    assert any(".lora_A." in k for k in arrays) and "classifier.weight" in arrays
