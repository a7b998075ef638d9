"""Local stand-ins for the platforms' HTTP APIs, for tests and the offline demo."""
