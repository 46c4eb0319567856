"""Content's HTTP side: the document routes, the streaming multipart reader uploads go
through, and file responses (ETag, conditional requests, ranges, safe disposition)."""
