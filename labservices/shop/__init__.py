"""The shop: lecture 06's REST examples as a live API (users, customers, products, orders, weather, OAuth)."""
