"""Storage backends behind one Protocol per concern (see ``base.py``)."""
