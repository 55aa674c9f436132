"""A stateful emulator of the prompts, tools and configs part of Hume's EVI API.

Its behaviour comes from the spec document and ``reconciler.hume.facts`` only: it never imports
the client, the manifests or the planner, so a wrong client model cannot make a test pass.
"""

from reconciler.emulator.app import EmulatorSettings, create_app
from reconciler.emulator.faults import ConnectionDropped, Faults

__all__ = ["ConnectionDropped", "EmulatorSettings", "Faults", "create_app"]
