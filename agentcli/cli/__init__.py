"""The command line: typer commands that build sessions and hand their events to front ends."""
