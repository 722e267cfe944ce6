"""Attenzione's web app: FastAPI routes, settings, serialisation and the command line."""

__version__ = "0.1.0"
