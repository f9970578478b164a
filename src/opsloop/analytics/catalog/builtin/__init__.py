"""The built-in metric catalog: YAML files read by catalog.builtin_catalog()."""
