"""The clausier: clause YAML files, law.yaml and templates (data, not code)."""
