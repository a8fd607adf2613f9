"""Members' access: plans, API keys, and the authentication that reads them."""
