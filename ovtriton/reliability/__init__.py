"""Long-running checks of a live server: the soak (load, errors, latency, memory growth)."""
