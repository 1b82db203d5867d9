"""Built-in problem files (YAML), shipped as package data."""
