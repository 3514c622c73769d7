"""The REST API (FastAPI, under /api/v1): `create_app(store)`. Needs shoal[serve]."""
