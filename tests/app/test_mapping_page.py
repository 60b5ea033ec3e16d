"""The Mapping page draws one widget per role of the Roles type, so every role a method needs
(mediator, site, lat, lon, exposure, ...) can be set in the app, and none is dropped on the way."""
from __future__ import annotations

import dataclasses

import cqox_core as cq

from .conftest import go


def test_every_role_has_a_widget_and_an_edit_reaches_the_roles(app_as, campaign):
    at = app_as("ana", "mapping", dataset=campaign)
    keys = {w.key for kind in (at.selectbox, at.multiselect, at.text_input) for w in kind if w.key}
    fields = {f.name for f in dataclasses.fields(cq.Roles) if f.name != "extra"}
    assert {f"role-{name}" for name in fields} <= keys
    column = str(campaign.frame.columns[-1])
    at.selectbox(key="role-mediator").set_value(column).run()
    at.selectbox(key="role-site").set_value(column).run()
    roles = cq.Roles.from_dict(at.session_state["roles"])
    assert roles.mediator == column and roles.site == column
    go(at, "mapping")  # the edit survives a revisit
    assert cq.Roles.from_dict(at.session_state["roles"]).mediator == column
