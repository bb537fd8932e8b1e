"""wa-policy-sidecar: a localhost gRPC sidecar for the WhatsApp Business Cloud API."""

__version__ = "0.1.0"
