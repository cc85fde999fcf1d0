"""The inspector's resources: bins and their captured requests, and the capture URL itself."""
