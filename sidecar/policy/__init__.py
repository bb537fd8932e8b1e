"""Pure policy decisions: no I/O, no asyncio, no protobuf; time is a parameter."""
