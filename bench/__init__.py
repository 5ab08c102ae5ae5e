"""Benchmarks of the Relief Tracker, run by `make bench` (see bench/README.md). Not a Django
app and not part of what is deployed: it only imports the app to measure it."""
