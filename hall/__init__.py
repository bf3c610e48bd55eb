"""Reference implementation of the hall APIs: the embedded default the assistant files through.
A city points the assistant at its own hall instead (HALL_URL, HALL_API_KEY)."""
