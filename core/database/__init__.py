"""Database access shared by the API and the workers."""
