"""Suite files: their TOML read and validated into dataclasses."""
