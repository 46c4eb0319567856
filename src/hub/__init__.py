"""Hub: identity, content, communication and workflow behind one REST API."""

__version__ = "0.1.0"
