"""msgspec Structs: the HTTP shapes. They live here only; the core uses dataclasses."""
