"""What the API and the workers share: settings, the database pool, the LLM client and
stub, crypto helpers, the address guard. Imports point one way: `api/` and `jobs/`
depend on this package, never on each other; this package depends on neither."""
