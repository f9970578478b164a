"""Console users, their workspace roles and passwords."""
