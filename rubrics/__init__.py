"""Built-in rubric files (YAML), shipped as package data."""
