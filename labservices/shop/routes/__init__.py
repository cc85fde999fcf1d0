"""The shop's routers, one module per resource."""
