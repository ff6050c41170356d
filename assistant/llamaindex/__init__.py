"""The assistant as LlamaIndex components: retriever, query engine, chat engine, document intake.

Owns the translation between our types and LlamaIndex's: a retrieved `Context` becomes a
`NodeWithScore` whose `TextNode` is the chunk (`id_` = chunk_id, `start_char_idx`/`end_char_idx`
= its span in the stored document text); an `Answer` becomes a `Response` whose source nodes are
the cited spans in marker order and whose `metadata` is `Answer.to_dict()`; a `ChatSession`
becomes a `BaseChatEngine`; a `llama_index.core.Document` becomes our `Document`.

Nothing here retrieves or answers: every call goes to the assistant behind it, given as a
duck-typed object (`source.AssistantLike`; `assistant.api.Assistant` is one), so this package
stays below the facade. `llama_index` is imported only by the modules of this package, and
they are imported only when someone asks for a LlamaIndex object (`Assistant.as_retriever()`,
`.as_query_engine()`, `.as_chat_engine()`, or `ingest_documents` given a LlamaIndex Document):
the extractive `ask` path never loads it.

May import: base modules (types, errors, config), text, encode, store, retrieve, answer, chat;
never `assistant.api`, `ingest`, `ui`, `cli`.
"""
