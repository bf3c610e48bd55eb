"""Operations: backup and restore, logging configuration of the Rasa and action servers."""
