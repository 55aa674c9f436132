"""Facts about Hume's EVI config API that more than one stage needs.

The OpenAPI document (``openapi.yaml``, a copy of ``shared/spec/evi-openapi.yaml``) is the contract;
``facts`` holds what the spec states only in prose (defaults, ranges). The emulator, the manifest
validator and the planner all read from here, and none of them owns it.
"""
