"""Configuration and records: presets, the protocol, datasets' and files' places, record provenance."""
