"""Command-line tools (console scripts in setup.py): each parses its arguments before any heavy import."""
