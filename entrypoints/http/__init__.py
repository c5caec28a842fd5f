"""The Litestar HTTP entrypoint: thin controllers over the use cases."""
