"""The live services of Integration Lab: small FastAPI apps, each with its own SQLite database."""
