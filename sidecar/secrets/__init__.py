"""Where the sidecar's secrets come from, and how changes reach it.

One interface (``base.SecretSource``), three sources behind it: the
environment, files (Kubernetes Secret volumes, watched) and Vault/OpenBao
KV v2. ``SecretKeeper`` merges them, looks again every
``WA_SIDECAR_SECRET_RELOAD_INTERVAL`` seconds, hands changed values to its
listeners, and keeps the last good values while a source is unreachable.

    base.py     SecretSource, Reading, the four keys
    env.py      the environment's values (static)
    files.py    secret files, re-read when an inode, size or mtime changes
    vault.py    Vault/OpenBao KV v2 over aiohttp: token or Kubernetes auth
    keeper.py   SecretKeeper: merge, poll, listeners, metric and health
    factory.py  settings → the sources (the one place that chooses them)
"""
