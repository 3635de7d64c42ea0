"""Weight transfer between a torch module and its Keras translation (needs both frameworks)."""
