"""Limits the API checks before the database does (the database states each one again,
as named below; a test keeps the two equal)."""

# The longest question, in characters: mukti_question_max_chars_v1() in SQL.
MAX_QUESTION_CHARS = 8000
