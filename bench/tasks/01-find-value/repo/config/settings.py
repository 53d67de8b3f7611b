"""Settings for the dashboard."""
HOST = "127.0.0.1"
DEFAULT_PORT = 8042
WORKERS = 4
LOG_LEVEL = "info"
