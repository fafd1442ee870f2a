"""A generator of realistic offer histories in the API v2 shape, grounded in published figures."""
