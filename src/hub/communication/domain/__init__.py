"""Communication's pure rules: templates (sandboxed rendering), categories, preferences
and quiet hours, permission keys and settings. No I/O."""
