from api.errors import CONSTRAINT_ERRORS, constraint_problem


def test_known_constraint_maps_to_its_error_and_field():
    error = constraint_problem("users_email_key", "23505")
    assert (error.status, error.code, error.field) == (409, "conflict", "email")


def test_unknown_constraint_falls_back_on_sqlstate():
    assert constraint_problem("something_else", "23505").status == 409
    assert constraint_problem("something_else", "23514").status == 422
    assert constraint_problem(None, "42P01") is None


def test_every_mapped_constraint_exists_in_the_schema():
    from pathlib import Path

    schema = "\n".join(p.read_text() for p in Path("db/sql").rglob("*.sql"))
    missing = [name for name in CONSTRAINT_ERRORS if name not in schema]
    assert missing == []
