"""One use case per module: a class with injected ports and `async execute(command)`."""
