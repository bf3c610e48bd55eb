"""Rasa custom actions (rasa-sdk). They talk to knowledge/ and the hall; they know no channel."""
