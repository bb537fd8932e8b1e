"""The thin gRPC edge: proto ⇄ domain; nothing is decided here."""
