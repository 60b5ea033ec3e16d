"""Estimators: one public module per method id (``<method_id>.py``), each registering
its method with the whole spec; private helpers shared between methods start with
``_``. The registry discovers the public modules (:func:`cqox_core.registry.methods`);
nothing here lists them by hand."""
