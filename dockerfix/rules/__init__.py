"""Built-in rules: one module per rule (``df101_...``); shared knowledge lives in modules without rules."""
