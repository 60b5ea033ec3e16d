"""Step 1: upload a file (or pick a demo) and look at what was read."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from app_lib import auth, compute
from app_lib.access import guard
from app_lib.ui import show_error
from cqox_core import observability
from cqox_core.data import Limits
from cqox_core.errors import CQOxError

user = guard("upload")
st.title("Upload data")
limits = Limits.from_env()
st.caption(f"CSV, TSV, Parquet, Excel (.xlsx) or JSON records. Up to {limits.max_bytes / 1e6:,.0f} MB and "
           f"{limits.describe()}; one row per unit (or per unit and period for panel designs). "
           "Files stay on this server.")

ASSETS = Path(__file__).resolve().parent.parent / "assets"
demos = {p.stem.replace("demo_", "").replace("_", " ").title(): p for p in sorted(ASSETS.glob("demo_*.csv"))}

left, right = st.columns([2, 1])
with left:
    upload = st.file_uploader("Drop a file here", type=["csv", "tsv", "txt", "parquet", "pq", "xlsx", "json", "jsonl", "ndjson"])
with right:
    demo = st.selectbox("…or use a demo dataset", ["(none)", *demos], help="Demo data have a known true effect "
                        "(see assets/DEMO_DATA.md), so you can check that the methods recover it.")

raw, name = None, None
if upload is not None:
    raw, name = upload.getvalue(), upload.name
elif demo != "(none)":
    raw, name = demos[demo].read_bytes(), demos[demo].name

if raw is not None:
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with st.spinner("Reading the file…"):
            ds = compute.load_bytes(digest, name, raw)
    except CQOxError as exc:
        observability.record_error(exc.code, where="upload", size=len(raw))
        show_error(exc.to_dict()["error"], "The file could not be used")
        st.stop()
    if st.session_state.get("dataset_sha") != ds.sha256:
        # a new file: everything derived from the previous one is dropped
        for key in ("roles", "analysis", "mapping_info", "domain_override", "methods", "method_params"):
            st.session_state.pop(key, None)
        st.session_state["dataset"] = ds
        st.session_state["dataset_sha"] = ds.sha256
        auth.store().audit(user, "upload", sha256=ds.sha256, name=name, size=len(raw), rows=ds.n_rows,
                           cols=ds.n_cols)

ds = st.session_state.get("dataset")
if ds is None:
    st.stop()

st.success(f"Read **{ds.source}**: {ds.n_rows:,} rows × {ds.n_cols} columns "
           f"({ds.meta.get('format', '')}{', ' + ds.meta['encoding'] if ds.meta.get('encoding') else ''}).")
for w in ds.meta.get("warnings", []):
    st.warning(w)
st.subheader("Preview")
st.dataframe(ds.frame.head(100), width="stretch")
st.subheader("Columns")
frame = ds.frame
profile = pd.DataFrame({
    "column": frame.columns.astype(str),
    "type": [str(t) for t in frame.dtypes],
    "distinct values": [int(frame[c].nunique()) for c in frame.columns],
    "missing": [f"{frame[c].isna().mean():.1%}" for c in frame.columns],
})
st.dataframe(profile, hide_index=True, width="stretch")
st.caption(f"sha256 {ds.sha256}")
st.page_link("app_pages/mapping.py", label="Next: check the column roles", icon=":material/arrow_forward:")
