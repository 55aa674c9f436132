"""evictl: configuration-as-code for Hume's Empathic Voice Interface (EVI)."""

__version__ = "0.1.0"
