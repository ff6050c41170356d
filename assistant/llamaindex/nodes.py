"""Our types as LlamaIndex nodes and responses, and LlamaIndex filters as ours.

- a retrieved `Context` -> `NodeWithScore(TextNode)`: `id_` = chunk_id, `text` = the chunk text,
  `start_char_idx`/`end_char_idx` = its span in the stored document text, metadata `doc_id`,
  `source`, `title`, `date` (and `page`/`page_label` for paged documents; so paged
  documents need no change here), and a SOURCE relationship to `doc_id` (so `ref_doc_id == doc_id`);
- a `Citation` -> the same kind of node over the cited span: `text` = the exact quote,
  `start_char_idx`/`end_char_idx` = its span, metadata also `chunk_id` and `citation` (its n);
- an `Answer` -> `Response`: our answer text with its `[n]` markers, source node `i` is citation
  `i + 1`, `metadata` = `Answer.to_dict()`; a refusal has no source nodes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.schema import NodeRelationship, NodeWithScore, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilters

from assistant.errors import InvalidFilterError
from assistant.types import Answer, Citation, Context, Filters

#: metadata a node carries but that is not part of the text an LLM or embedder should see
_HIDDEN = ["doc_id", "source", "chunk_id", "citation", "date", "page", "page_label", "page_end"]


def _node(node_id: str, text: str, start: int, end: int, metadata: dict[str, Any]) -> TextNode:
    return TextNode(
        id_=node_id,
        text=text,
        start_char_idx=start,
        end_char_idx=end,
        metadata=metadata,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=metadata["doc_id"])},
        excluded_llm_metadata_keys=list(_HIDDEN),
        excluded_embed_metadata_keys=list(_HIDDEN),
    )


def context_node(ctx: Context) -> NodeWithScore:
    meta = {"doc_id": ctx.doc_id, "source": ctx.source, "title": ctx.title, "date": ctx.date}
    if ctx.page is not None:  # paged documents (PDF): the chunk's first page, and its printed label
        meta["page"], meta["page_label"] = ctx.page, ctx.page_label
    return NodeWithScore(node=_node(ctx.chunk_id, ctx.text, ctx.start, ctx.end, meta), score=ctx.score)


def citation_node(c: Citation, contexts: dict[str, Context]) -> NodeWithScore:
    ctx = contexts.get(c.chunk_id)
    meta = {
        "doc_id": c.doc_id,
        "source": c.source,
        "title": c.title,
        "date": ctx.date if ctx else None,
        "chunk_id": c.chunk_id,
        "citation": c.n,
    }
    if c.page is not None:  # the quote's own page(s), not the chunk's
        meta["page"], meta["page_label"] = c.page, c.page_label
        if c.page_end is not None:
            meta["page_end"] = c.page_end
    if c.section is not None:  # the heading it falls under (DOCX)
        meta["section"] = c.section
    node_id = f"{c.chunk_id}:{c.start}-{c.end}"
    return NodeWithScore(node=_node(node_id, c.quote, c.start, c.end, meta), score=ctx.score if ctx else None)


def source_nodes(answer: Answer) -> list[NodeWithScore]:
    """The cited spans in marker order (node i is citation i + 1); none for a refusal."""
    if answer.refused:
        return []
    by_chunk = {c.chunk_id: c for c in answer.contexts}
    return [citation_node(c, by_chunk) for c in sorted(answer.citations, key=lambda c: c.n)]


def to_response(answer: Answer) -> Response:
    return Response(response=answer.answer, source_nodes=source_nodes(answer), metadata=answer.to_dict())


# --- filters -----------------------------------------------------------------------------------
def to_filters(filters: Filters | MetadataFilters | dict[str, Any] | None) -> Filters | None:
    """Our `Filters`, from ours, a dict of its fields, or LlamaIndex `MetadataFilters` over
    `doc_id` / `source` (`==`, `in`) and `date` (`>=`, `<=`, `==`), joined with AND."""
    if filters is None or isinstance(filters, Filters):
        return filters
    if isinstance(filters, dict):
        unknown = sorted(set(filters) - set(Filters.model_fields))
        if unknown:
            raise InvalidFilterError(
                f"filters.{unknown[0]}", filters[unknown[0]], f"unknown field; want {sorted(Filters.model_fields)}"
            )
        try:
            return Filters(**filters)
        except Exception as exc:  # pydantic's ValidationError, unknown field names
            raise InvalidFilterError("filters", filters, str(exc).splitlines()[0]) from exc
    if not isinstance(filters, MetadataFilters):
        raise InvalidFilterError("filters", filters, "want Filters, a dict or llama_index MetadataFilters")
    if filters.condition not in (None, FilterCondition.AND):
        raise InvalidFilterError("filters.condition", filters.condition, "only AND is supported")
    out: dict[str, Any] = {"doc_ids": [], "sources": [], "date_from": None, "date_to": None}
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            raise InvalidFilterError("filters", f, "nested filters are not supported")
        key, op, value = f.key, f.operator, f.value
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if key in ("doc_id", "source") and op in (FilterOperator.EQ, FilterOperator.IN):
            out["doc_ids" if key == "doc_id" else "sources"].extend(str(v) for v in values)
        elif key == "date" and op in (FilterOperator.GTE, FilterOperator.EQ) and len(values) == 1:
            out["date_from"] = _iso(values[0])
            if op == FilterOperator.EQ:
                out["date_to"] = _iso(values[0])
        elif key == "date" and op == FilterOperator.LTE and len(values) == 1:
            out["date_to"] = _iso(values[0])
        else:
            raise InvalidFilterError(
                f"filters.{key}", f"{op.value} {value!r}", "supported: doc_id/source ==, in; date >=, <=, =="
            )
    return Filters(**out)


def _iso(value: Any) -> str:
    return value.isoformat()[:10] if isinstance(value, (dt.date, dt.datetime)) else str(value)
