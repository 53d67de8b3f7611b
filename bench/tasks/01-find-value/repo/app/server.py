"""A tiny HTTP server for the dashboard."""
from http.server import HTTPServer, SimpleHTTPRequestHandler

from config.settings import DEFAULT_PORT, HOST


def serve(port: int = DEFAULT_PORT) -> None:
    HTTPServer((HOST, port), SimpleHTTPRequestHandler).serve_forever()
