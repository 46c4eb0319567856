"""Reading text out of files, in a child process the job can kill (``sandbox`` runs
``worker``; ``formats`` and ``ocr`` are what the child does)."""
