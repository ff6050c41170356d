"""The Gradio chat: the app (`app`), answer rendering (`render`), bind/auth/upload guards
(`guard`) and the feedback store evaluators read (`feedback`).

May import: `assistant.api`, `assistant.chat` and every layer below. Nothing imports `ui` but the CLI.
"""
