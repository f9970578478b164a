"""The `opsloop` command line: doors that turn argv into service calls and print the answer."""
