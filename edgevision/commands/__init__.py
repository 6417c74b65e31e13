"""One module per `edgevision` sub-command (see edgevision/cli.py)."""
