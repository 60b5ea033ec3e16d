"""Streamlit-side helpers for the CQOx app (login, access, state, cached compute, widgets).

Only this package and app_pages/ import streamlit; cqox_core never does.
"""
