"""WhatsApp Cloud API edge: the Graph client, error codes and webhook models."""
