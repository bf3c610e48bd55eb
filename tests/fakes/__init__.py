"""Local stand-ins for remote platforms the channels talk to (WeChat API, ...), speaking their real protocols."""
