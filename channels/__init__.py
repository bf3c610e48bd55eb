"""Channel adapters: one file per channel, each behind the interface in channels/base.py."""
