"""HTTP routes: thin handlers that validate, call the service, and return bytes."""
