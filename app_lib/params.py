"""Widgets for a method's own parameters, from its registry spec (signature defaults and the help
text registered with the method): the same source as the CLI's `methods` and the docs."""
from __future__ import annotations

from typing import Any

import streamlit as st

from cqox_core import registry

SKIP = {"inner_params"}


def widgets(method: str, runnable: list[str]) -> dict[str, Any]:
    """Draw the parameter widgets of ``method``; return only values that differ from the defaults."""
    spec = registry.get(method)
    values: dict[str, Any] = {}
    for param in spec.params:
        name, default, help_text = param.name, param.default, param.help
        if name in SKIP:
            continue
        key = f"param-{method}-{name}"
        choices = list(param.choices) if param.choices else None
        if name == "of":
            options = [m for m in runnable if m != method]
            value = st.selectbox("of", options, key=key, help=help_text) if options else None
        elif choices:
            value = st.selectbox(name, choices, index=choices.index(default) if default in choices else 0,
                                 key=key, help=help_text,
                                 format_func=lambda c: "automatic" if c is None else str(c))
        elif isinstance(default, bool):
            value = st.checkbox(name, value=default, key=key, help=help_text)
        elif isinstance(default, int):
            value = int(st.number_input(name, value=default, step=1, key=key, help=help_text))
        elif isinstance(default, float) or (default is None and "float" in param.annotation):
            text = st.text_input(name, "" if default is None else f"{default:g}", key=key, help=help_text)
            try:
                value = float(text) if text.strip() else None
            except ValueError:
                st.error(f"{name}: '{text}' is not a number; the default is used.")
                value = default
        else:
            continue
        if value != default:
            values[name] = value
    return values
